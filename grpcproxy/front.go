package grpcproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
)

// maxStreamsPerConn is the MAX_CONCURRENT_STREAMS driftcar grants each
// client connection. A client that opens more gets REFUSED_STREAM,
// counted in driftcar_grpc_refused_streams_total.
const maxStreamsPerConn = 1024

// healthPrefix is the method prefix of grpc.health.v1, served by the
// sidecar itself.
const healthPrefix = "/grpc.health.v1.Health/"

// frontConn is a client's connection to the listener.
type frontConn struct {
	h2conn
	srv    *Server
	lastID atomic.Uint32 // the highest stream id the client opened

	smu      sync.Mutex
	streams  map[uint32]*stream
	draining bool
	idle     chan struct{} // closed when draining and no stream is left
}

// serveFront relays the calls of one client connection until it ends.
func (s *Server) serveFront(nc net.Conn) {
	fc := &frontConn{srv: s, streams: make(map[uint32]*stream)}
	fc.init(nc)
	if !s.addFront(fc) {
		_ = nc.Close()
		return
	}
	defer s.removeFront(fc)

	fc.wmu.Lock()
	fc.check(fc.fr.WriteSettings(ourSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: maxStreamsPerConn})...))
	fc.check(fc.fr.WriteWindowUpdate(0, connWindow-defaultWindow))
	fc.check(fc.bw.Flush())
	fc.wmu.Unlock()

	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(fc.br, preface); err != nil || !bytes.Equal(preface, []byte(http2.ClientPreface)) {
		s.log.Debug("not an HTTP/2 client", zap.Stringer("remote", nc.RemoteAddr()), zap.Error(err))
		_ = nc.Close()
		return
	}
	var b batch
	err := fc.readLoop(&b)
	fc.smu.Lock()
	gone := make([]*stream, 0, len(fc.streams))
	for _, st := range fc.streams {
		gone = append(gone, st)
	}
	fc.smu.Unlock()
	for _, st := range gone {
		st.mu.Lock()
		st.clientGoneLocked(&b)
		st.mu.Unlock()
	}
	b.flush()
	_ = nc.Close()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		s.log.Debug("grpc client connection ended", zap.Stringer("remote", nc.RemoteAddr()), zap.Error(err))
	}
}

func (fc *frontConn) readLoop(b *batch) error {
	for {
		f, err := fc.fr.ReadFrame()
		if err != nil {
			if ce, ok := errors.AsType[http2.ConnectionError](err); ok {
				fc.goAway(fc.lastID.Load(), http2.ErrCode(ce), "")
			}
			return err
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			if err := fc.headers(f, b); err != nil {
				fc.goAway(fc.lastID.Load(), http2.ErrCodeProtocol, err.Error())
				return err
			}
		case *http2.DataFrame:
			if st := fc.get(f.StreamID); st != nil {
				st.mu.Lock()
				if !st.closed {
					st.dataLocked(&st.up, f, b)
				} else {
					fc.credit(0, nil, int(f.Header().Length), b)
				}
				st.mu.Unlock()
			} else {
				fc.credit(0, nil, int(f.Header().Length), b)
			}
		case *http2.RSTStreamFrame:
			if st := fc.get(f.StreamID); st != nil {
				st.mu.Lock()
				st.clientGoneLocked(b)
				st.mu.Unlock()
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				for _, w := range fc.windowUpdate(f.Increment) {
					w.unblocked(&fc.h2conn, b)
				}
			} else if st := fc.get(f.StreamID); st != nil {
				st.mu.Lock()
				if !st.closed {
					st.windowLocked(&st.down, int64(f.Increment), b)
				}
				st.mu.Unlock()
			}
		case *http2.SettingsFrame:
			if f.IsAck() {
				break
			}
			delta, err := fc.applySettings(f, b)
			if err != nil {
				fc.goAway(fc.lastID.Load(), http2.ErrCodeProtocol, err.Error())
				return err
			}
			if delta != 0 {
				for _, st := range fc.all() {
					st.mu.Lock()
					if !st.closed {
						st.windowLocked(&st.down, delta, b)
					}
					st.mu.Unlock()
				}
			}
		case *http2.PingFrame:
			fc.ping(f, b)
		}
		if !fc.frameReady() {
			b.flush()
		}
	}
}

// headers takes a client's HEADERS: a new call, or the end of a call's
// request side. Its error is the connection's.
func (fc *frontConn) headers(f *http2.MetaHeadersFrame, b *batch) error {
	id := f.StreamID
	if st := fc.get(id); st != nil {
		st.mu.Lock()
		if !st.closed && f.StreamEnded() && !st.up.end {
			st.relayLocked(&st.up, nil, true, b) // trailers from a client: gRPC has none; the end counts
		}
		st.mu.Unlock()
		return nil
	}
	if id%2 == 0 || id <= fc.lastID.Load() {
		return errors.New("stream id reused or even")
	}
	fc.lastID.Store(id)
	s := fc.srv
	fc.smu.Lock()
	refuse := fc.draining || len(fc.streams) >= maxStreamsPerConn
	fc.smu.Unlock()
	if refuse {
		s.metrics.refused.Inc()
		fc.writeRST(id, http2.ErrCodeRefusedStream, b)
		return nil
	}
	start := time.Now()
	method := f.PseudoValue("path")
	if f.Truncated {
		s.metrics.tooLarge.Inc()
		fc.reject(f, codes.ResourceExhausted, "driftcar: header list larger than 1MiB", b)
		return nil
	}
	var r *route
	if strings.HasPrefix(method, healthPrefix) {
		r = s.healthRoute
	} else if r = s.table.Load().match(method); r == nil {
		s.unmatched.observe(codes.Unimplemented, time.Since(start))
		fc.reject(f, codes.Unimplemented, "driftcar: unknown method "+method+": no route matches it", b)
		return nil
	}
	h := headerFields(f.Fields)
	st := &stream{
		srv: s, front: fc, fid: id, r: r, method: method, fields: f.Fields, start: start,
		armIdx: r.pick(h, s.rand),
	}
	if d, ok := parseTimeout(h.get("grpc-timeout")); ok {
		st.deadline = start.Add(d)
	}
	if r.tap != nil {
		st.md = Metadata{f.Fields}
		st.up.scan.capture, st.down.scan.capture = true, true
	}
	st.up.end = f.StreamEnded()
	st.down.win = fc.initWin
	fc.smu.Lock()
	fc.streams[id] = st
	fc.smu.Unlock()
	st.mu.Lock()
	st.openLocked(b)
	st.mu.Unlock()
	return nil
}

// reject answers a call that never opens with a status alone.
func (fc *frontConn) reject(f *http2.MetaHeadersFrame, code codes.Code, msg string, b *batch) {
	fc.wmu.Lock()
	fc.writeHeadersLocked(f.StreamID, statusFields(code, msg, true), "", true)
	if !f.StreamEnded() {
		fc.check(fc.fr.WriteRSTStream(f.StreamID, http2.ErrCodeNo))
	}
	fc.wmu.Unlock()
	b.add(&fc.h2conn)
}

func (fc *frontConn) get(id uint32) *stream {
	fc.smu.Lock()
	st := fc.streams[id]
	fc.smu.Unlock()
	return st
}

func (fc *frontConn) all() []*stream {
	fc.smu.Lock()
	defer fc.smu.Unlock()
	out := make([]*stream, 0, len(fc.streams))
	for _, st := range fc.streams {
		out = append(out, st)
	}
	return out
}

func (fc *frontConn) forget(id uint32) {
	fc.smu.Lock()
	delete(fc.streams, id)
	if fc.draining && len(fc.streams) == 0 && fc.idle != nil {
		close(fc.idle)
		fc.idle = nil
	}
	fc.smu.Unlock()
}

// drain refuses new calls and returns a channel closed once the calls in
// flight are done.
func (fc *frontConn) drain() <-chan struct{} {
	fc.goAway(fc.lastID.Load(), http2.ErrCodeNo, "")
	fc.smu.Lock()
	defer fc.smu.Unlock()
	fc.draining = true
	idle := make(chan struct{})
	if len(fc.streams) == 0 {
		close(idle)
	} else {
		fc.idle = idle
	}
	return idle
}

// headerFields reads request metadata out of decoded header fields.
type headerFields []hpack.HeaderField

func (h headerFields) get(key string) string {
	for _, f := range h {
		if f.Name == key {
			return f.Value
		}
	}
	return ""
}
