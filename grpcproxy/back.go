package grpcproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Redial backoff after a failed dial: calls in the meantime fail at once,
// as grpc-go's do while its connection is in TRANSIENT_FAILURE.
const (
	minRedial = time.Second
	maxRedial = 10 * time.Second
)

// maxConnsPerBackend bounds the connections to one upstream; more than
// one is opened only when the upstream's MAX_CONCURRENT_STREAMS is
// reached.
const maxConnsPerBackend = 16

// maxStreamIDs is how many streams a back connection opens before it is
// retired for a fresh one (stream ids are 31 bits, odd only).
const maxStreamIDs = 1 << 30

// connKey is what a backend's settings depend on; backends whose key is
// unchanged are kept across reloads.
type connKey struct {
	addr           string
	connectTimeout time.Duration
}

// backend is one upstream gRPC address: its HTTP/2 connections, dialed
// on demand.
type backend struct {
	key  connKey
	dial func(ctx context.Context, addr string) (net.Conn, error)
	log  *zap.Logger

	mu      sync.Mutex
	conns   []*backConn
	dialing bool
	waiters []upstreamCall
	err     error // the last dial's failure
	retryAt time.Time
	backoff time.Duration
	closed  bool
	wg      sync.WaitGroup // dials and readers
}

func newBackend(k connKey, log *zap.Logger) *backend {
	d := &net.Dialer{}
	return &backend{key: k, dial: func(ctx context.Context, addr string) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", addr)
	}, log: log}
}

var errBackendClosed = errors.New("upstream connection closed by a reload")

// errGoAway ends the calls an upstream's GOAWAY says it did not process.
var errGoAway = errors.New("the upstream sent GOAWAY")

// acquire reserves a stream slot for st on a ready connection, or queues
// st for the connection being dialed (nil, nil), or fails while the
// upstream is in its redial backoff.
func (be *backend) acquire(st upstreamCall) (*backConn, error) {
	be.mu.Lock()
	defer be.mu.Unlock()
	if be.closed {
		return nil, errBackendClosed
	}
	for _, c := range be.conns {
		if c.reserve() {
			return c, nil
		}
	}
	if !be.dialing {
		if time.Now().Before(be.retryAt) {
			return nil, be.err
		}
		if len(be.conns) >= maxConnsPerBackend {
			return nil, fmt.Errorf("all %d connections to %s are at the upstream's stream limit", maxConnsPerBackend, be.key.addr)
		}
		be.dialing = true
		be.wg.Add(1)
		go be.connect()
	}
	be.waiters = append(be.waiters, st)
	return nil, nil
}

// connect dials a connection and opens the waiting calls on it.
func (be *backend) connect() {
	defer be.wg.Done()
	c, err := be.handshake()
	be.mu.Lock()
	be.dialing = false
	waiters := be.waiters
	be.waiters = nil
	if err == nil && be.closed {
		_ = c.nc.Close()
		err = errBackendClosed
	}
	if err != nil {
		be.err = fmt.Errorf("connection error: %w", err)
		be.backoff = min(max(minRedial, be.backoff*2), maxRedial)
		be.retryAt = time.Now().Add(be.backoff)
		err = be.err
	} else {
		be.backoff, be.err = 0, nil
		be.conns = append(be.conns, c)
		be.wg.Add(1)
		go c.serve()
	}
	be.mu.Unlock()

	var b batch
	for _, st := range waiters {
		st.connected(err, &b)
	}
	b.flush()
}

// handshake dials and exchanges the connection preface and SETTINGS.
func (be *backend) handshake() (*backConn, error) {
	timeout := be.key.connectTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	nc, err := be.dial(ctx, be.key.addr)
	if err != nil {
		return nil, err
	}
	c := &backConn{be: be, streams: make(map[uint32]upstreamCall), nextID: 1, maxStreams: math.MaxUint32}
	c.init(nc)
	dl, _ := ctx.Deadline()
	_ = nc.SetDeadline(dl)
	_, _ = io.WriteString(c.bw, http2.ClientPreface)
	c.check(c.fr.WriteSettings(ourSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 0})...))
	c.check(c.fr.WriteWindowUpdate(0, connWindow-defaultWindow))
	c.check(c.bw.Flush())
	if c.werr != nil {
		return nil, c.werr
	}
	f, err := c.fr.ReadFrame()
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("no HTTP/2 preface from %s: %w", be.key.addr, err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		_ = nc.Close()
		return nil, fmt.Errorf("%s did not start with SETTINGS: not an HTTP/2 server", be.key.addr)
	}
	var b batch
	if err := c.settings(sf, &b); err != nil {
		_ = nc.Close()
		return nil, err
	}
	c.check(c.bw.Flush())
	_ = nc.SetDeadline(time.Time{})
	return c, c.werr
}

// remove drops a connection that ended or drains.
func (be *backend) remove(c *backConn) {
	be.mu.Lock()
	for i, x := range be.conns {
		if x == c {
			be.conns = append(be.conns[:i], be.conns[i+1:]...)
			break
		}
	}
	be.mu.Unlock()
}

// close ends every connection; their calls fail. It waits for the
// readers and dials to finish.
func (be *backend) close() {
	be.mu.Lock()
	be.closed = true
	conns := be.conns
	be.conns = nil
	be.mu.Unlock()
	for _, c := range conns {
		_ = c.nc.Close()
	}
	be.wg.Wait()
}

// upstreamCall is what a back connection feeds: the upstream side of a
// relayed call (*stream) or a call of driftcar's own (*clientCall). Each
// method takes the call's lock and ignores a call that has ended.
type upstreamCall interface {
	flowWaiter
	// connected follows acquire's queueing: the dial ended, with err.
	connected(err error, b *batch)
	headers(f *http2.MetaHeadersFrame, b *batch)
	// data must credit the frame's bytes to the connection.
	data(f *http2.DataFrame, b *batch)
	reset(code http2.ErrCode, b *batch)
	// window adds to the stream's send window.
	window(incr int64, b *batch)
	// gone ends a call whose connection failed or went away.
	gone(err error, b *batch)
}

// backConn is one HTTP/2 connection to an upstream.
type backConn struct {
	h2conn
	be     *backend
	nextID uint32 // under wmu

	smu        sync.Mutex
	streams    map[uint32]upstreamCall
	active     int
	opened     int
	maxStreams uint32
	draining   bool
}

// reserve takes a stream slot, if the connection has one.
func (c *backConn) reserve() bool {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.draining || uint32(c.active) >= c.maxStreams || c.opened >= maxStreamIDs {
		return false
	}
	c.active++
	c.opened++
	return true
}

func (c *backConn) register(id uint32, st upstreamCall) {
	c.smu.Lock()
	c.streams[id] = st
	c.smu.Unlock()
}

func (c *backConn) get(id uint32) upstreamCall {
	c.smu.Lock()
	st := c.streams[id]
	c.smu.Unlock()
	return st
}

func (c *backConn) forget(id uint32) {
	c.smu.Lock()
	delete(c.streams, id)
	c.active--
	done := c.draining && c.active == 0
	c.smu.Unlock()
	if done {
		c.flush()
		_ = c.nc.Close()
	}
}

// openStream opens a stream for call, on a slot reserved for it, with
// HEADERS of fields (authority, when set, replacing :authority). It
// returns the stream's id and send window.
func (c *backConn) openStream(call upstreamCall, fields []hpack.HeaderField, authority string, end bool, b *batch) (id uint32, win int64) {
	c.wmu.Lock()
	id, win = c.nextID, c.initWin
	c.nextID += 2
	c.register(id, call)
	c.writeHeadersLocked(id, fields, authority, end)
	c.wmu.Unlock()
	b.add(&c.h2conn)
	return id, win
}

// above returns the calls whose stream id is above id.
func (c *backConn) above(id uint32) []upstreamCall {
	c.smu.Lock()
	defer c.smu.Unlock()
	out := make([]upstreamCall, 0, len(c.streams))
	for sid, st := range c.streams {
		if sid > id {
			out = append(out, st)
		}
	}
	return out
}

// settings applies the upstream's SETTINGS.
func (c *backConn) settings(f *http2.SettingsFrame, b *batch) error {
	delta, err := c.applySettings(f, b)
	if err != nil {
		return err
	}
	if v, ok := f.Value(http2.SettingMaxConcurrentStreams); ok {
		c.smu.Lock()
		c.maxStreams = v
		c.smu.Unlock()
	}
	if delta != 0 {
		for _, st := range c.above(0) {
			st.window(delta, b)
		}
	}
	return nil
}

// serve reads the upstream's frames until the connection ends, then
// fails the calls still on it.
func (c *backConn) serve() {
	defer c.be.wg.Done()
	var b batch
	err := c.readLoop(&b)
	c.be.remove(c)
	c.smu.Lock()
	c.draining = true
	c.smu.Unlock()
	for _, st := range c.above(0) {
		st.gone(err, &b)
	}
	b.flush()
	_ = c.nc.Close()
}

func (c *backConn) readLoop(b *batch) error {
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return err
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			if st := c.get(f.StreamID); st != nil {
				st.headers(f, b)
			}
		case *http2.DataFrame:
			if st := c.get(f.StreamID); st != nil {
				st.data(f, b)
			} else {
				c.credit(0, nil, int(f.Header().Length), b)
			}
		case *http2.RSTStreamFrame:
			if st := c.get(f.StreamID); st != nil {
				st.reset(f.ErrCode, b)
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				for _, w := range c.windowUpdate(f.Increment) {
					w.unblocked(&c.h2conn, b)
				}
			} else if st := c.get(f.StreamID); st != nil {
				st.window(int64(f.Increment), b)
			}
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := c.settings(f, b); err != nil {
					return err
				}
			}
		case *http2.PingFrame:
			c.ping(f, b)
		case *http2.GoAwayFrame:
			c.goneAway(f.LastStreamID, b)
		}
		if !c.frameReady() {
			b.flush()
		}
	}
}

// goneAway retires the connection: no new calls, and the calls above
// lastID, which the upstream will not serve, fail.
func (c *backConn) goneAway(lastID uint32, b *batch) {
	c.be.remove(c)
	c.smu.Lock()
	c.draining = true
	idle := c.active == 0
	c.smu.Unlock()
	for _, st := range c.above(lastID) {
		st.gone(errGoAway, b)
	}
	if idle {
		b.flush()
		_ = c.nc.Close()
	}
}
