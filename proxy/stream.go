package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// StreamThreshold is the Content-Length above which a response is
// streamed instead of buffered. Chunked, close-delimited and
// text/event-stream responses are always streamed.
const StreamThreshold = 1 << 20

// maxStreamCopy is how much of a streamed response the taps get; one byte
// more than their default body limit, so a longer stream counts as too
// large for them instead of arriving cut.
const maxStreamCopy = 1<<20 + 1

// streamBuffer is the size of one read of a stream, and so the largest
// chunk forwarded; each stream holds one.
const streamBuffer = 32 << 10

// defaultStreamIdle bounds the gap between chunks when a config built in
// code leaves it zero.
const defaultStreamIdle = 30 * time.Second

// transport is the HostClient round trip: the request is written and the
// response headers read within the upstream timeout; a small response
// with a Content-Length is then read whole, as fasthttp does, and any
// other becomes an upstreamStream that the server forwards chunk by chunk.
type transport struct {
	timeout time.Duration // to the first response byte
	idle    time.Duration // between chunks of a stream
	streams sync.Pool     // *upstreamStream
}

var eventStream = []byte("text/event-stream")

func (t *transport) RoundTrip(hc *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response) (bool, error) {
	deadline := time.Now().Add(t.timeout)
	cc, err := hc.AcquireConn(t.timeout, req.ConnectionClose())
	if err != nil {
		return false, err
	}
	conn := cc.Conn()
	if err := conn.SetDeadline(deadline); err != nil {
		hc.CloseConn(cc)
		return false, err
	}
	bw := hc.AcquireWriter(conn)
	err = req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	hc.ReleaseWriter(bw)
	if err != nil {
		hc.CloseConn(cc)
		return false, timeoutAs(err)
	}
	br := hc.AcquireReader(conn)
	if err := readHeader(&resp.Header, br); err != nil {
		hc.ReleaseReader(br)
		hc.CloseConn(cc)
		return false, timeoutAs(err)
	}
	closeConn := req.ConnectionClose() || resp.ConnectionClose()
	if skipsBody(req, resp) || !streams(&resp.Header) {
		if !skipsBody(req, resp) {
			err = resp.ReadBody(br, maxResponseBody)
		}
		hc.ReleaseReader(br)
		if err != nil || closeConn {
			hc.CloseConn(cc)
		} else {
			hc.ReleaseConn(cc)
		}
		return false, timeoutAs(err)
	}
	st := t.streams.Get().(*upstreamStream)
	st.start(t, conn, &resp.Header)
	st.carrier.StreamBody = true
	if err := st.carrier.ReadBody(br, 0); err != nil {
		st.carrier.Reset()
		t.streams.Put(st)
		hc.ReleaseReader(br)
		hc.CloseConn(cc)
		return false, err
	}
	st.body = st.carrier.BodyStream()
	st.release = func(discard bool) {
		hc.ReleaseReader(br)
		if discard || closeConn {
			hc.CloseConn(cc)
		} else {
			hc.ReleaseConn(cc)
		}
	}
	size := resp.Header.ContentLength()
	if size < 0 {
		size = -1 // chunked to the client
	}
	resp.SetBodyStream(st, size)
	resp.ImmediateHeaderFlush = true
	return false, nil
}

// maxInterim bounds the 1xx responses skipped before the final one.
const maxInterim = 100

var errTooManyInterim = errors.New("proxy: too many 1xx responses")

// readHeader reads the response header, skipping 1xx interim responses
// other than 101.
func readHeader(h *fasthttp.ResponseHeader, br *bufio.Reader) error {
	for range maxInterim {
		if err := h.Read(br); err != nil {
			return err
		}
		if s := h.StatusCode(); s < 100 || s > 199 || s == fasthttp.StatusSwitchingProtocols {
			return nil
		}
	}
	return errTooManyInterim
}

// streams reports whether a response with header h is forwarded as it
// arrives rather than read whole first.
func streams(h *fasthttp.ResponseHeader) bool {
	n := h.ContentLength()
	return n < 0 || n > StreamThreshold || bytes.HasPrefix(h.ContentType(), eventStream)
}

func skipsBody(req *fasthttp.Request, resp *fasthttp.Response) bool {
	s := resp.StatusCode()
	return req.Header.IsHead() || s < 200 || s == fasthttp.StatusNoContent || s == fasthttp.StatusNotModified
}

// timeoutAs maps a network timeout to fasthttp.ErrTimeout, as fasthttp's
// own round trip does.
func timeoutAs(err error) error {
	if err == nil {
		return nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fasthttp.ErrTimeout
	}
	return err
}

// upstreamStream is a response body read from the upstream while the
// server writes it to the client: each Read is one chunk, flushed at once.
// It keeps a bounded copy for the taps. The server closes it exactly once,
// with its write error; that releases the upstream connection and ends
// the request's accounting.
type upstreamStream struct {
	t       *transport
	conn    net.Conn
	carrier fasthttp.Response // decodes the upstream framing
	body    io.Reader
	release func(discard bool)
	buf     []byte // streamBuffer bytes, kept across streams
	copy    []byte
	eof     bool
	readErr error
	end     func(st *upstreamStream, writeErr error)

	timing      *armStats // set on a route that times tokens
	began, last time.Time // the request's start; the last chunk's arrival
}

func (st *upstreamStream) start(t *transport, conn net.Conn, h *fasthttp.ResponseHeader) {
	st.t, st.conn = t, conn
	h.CopyTo(&st.carrier.Header)
}

// Read reads the next chunk, waiting at most the idle timeout for it.
func (st *upstreamStream) Read(p []byte) (int, error) {
	if err := st.conn.SetReadDeadline(time.Now().Add(st.t.idle)); err != nil {
		st.readErr = err
		return 0, err
	}
	n, err := st.body.Read(p)
	if st.timing != nil && n > 0 {
		st.timeChunk()
	}
	if room := maxStreamCopy - len(st.copy); room > 0 && n > 0 {
		st.copy = append(st.copy, p[:min(n, room)]...)
	}
	switch {
	case err == io.EOF:
		st.eof = true
	case err != nil:
		st.readErr = err
	}
	return n, err
}

// WriteTo forwards the stream to the server's body writer, one Read per
// write; fasthttp frames and flushes each as a chunk.
func (st *upstreamStream) WriteTo(w io.Writer) (int64, error) {
	if st.buf == nil {
		st.buf = make([]byte, streamBuffer)
	}
	var total int64
	for {
		n, err := st.Read(st.buf)
		if n > 0 {
			m, werr := w.Write(st.buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		switch {
		case err == io.EOF:
			return total, nil
		case err != nil:
			return total, err
		}
	}
}

// SupportsBodyWriteTo tells fasthttp that WriteTo forwards what Read
// reads.
func (st *upstreamStream) SupportsBodyWriteTo() bool { return true }

// timeChunk records a chunk's arrival: the time to the first, or the gap
// since the last.
func (st *upstreamStream) timeChunk() {
	now := time.Now()
	if st.last.IsZero() {
		st.timing.firstToken.observe(now.Sub(st.began))
	} else {
		st.timing.interToken.observe(now.Sub(st.last))
	}
	st.last = now
}

// CloseWithError ends the stream: writeErr is the server's error writing
// to the client (nil when the whole stream was written).
func (st *upstreamStream) CloseWithError(writeErr error) error {
	_ = st.carrier.CloseBodyStream()
	discard := !st.eof || writeErr != nil || st.readErr != nil
	if st.release != nil {
		st.release(discard)
	}
	if st.end != nil {
		st.end(st, writeErr)
	}
	t := st.t
	st.carrier.Reset()
	st.t, st.conn, st.body, st.release, st.end = nil, nil, nil, nil, nil
	st.timing, st.began, st.last = nil, time.Time{}, time.Time{}
	st.copy, st.eof, st.readErr = st.copy[:0], false, nil
	t.streams.Put(st)
	return nil
}
