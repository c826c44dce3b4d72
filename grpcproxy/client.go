package grpcproxy

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// Client makes unary calls of driftcar's own, such as a shadow's mirrored
// calls, on the relay's connection pool: shared HTTP/2 connections, one
// reader each, writes batched, redials backed off.
type Client struct {
	be      *backend
	maxRecv int
}

// NewClient returns a client for the gRPC server at addr. Connections
// are dialed on the first call, each within connectTimeout (0: 5s);
// responses over maxRecv bytes fail.
func NewClient(addr string, connectTimeout time.Duration, maxRecv int, log *zap.Logger) *Client {
	return &Client{be: newBackend(connKey{addr: addr, connectTimeout: connectTimeout}, log), maxRecv: maxRecv}
}

// Close ends the client's connections; calls in flight fail.
func (c *Client) Close() { c.be.close() }

// Reply is a call's outcome as the server sent it.
type Reply struct {
	// Message is the response message, nil when there was none.
	Message []byte
	Code    codes.Code
	// Status is the grpc-message trailer, decoded.
	Status string
}

// Batch gathers the writes of several calls started by Go, so that they
// leave in one write per connection when it is flushed.
type Batch struct{ b batch }

// Flush writes what b holds, then runs the callbacks of calls that ended
// while starting.
func (b *Batch) Flush() { b.b.flush() }

// Go sends req, one serialized message, to method with md and returns at
// once; with a Batch, its frames wait for the batch's Flush. done runs
// once, with the server's reply or a failure of the call itself (no
// connection, a reset stream, a malformed or oversized response, or
// context.DeadlineExceeded after timeout), on a goroutine of the client's
// or Go's caller, under no lock; it must not block. The response message
// is appended to buf[:0].
func (c *Client) Go(method string, md metadata.MD, req, buf []byte, timeout time.Duration, done func(Reply, error), b *Batch) {
	var own batch
	bb := &own
	if b != nil {
		bb = &b.b
	}
	cc := c.start(method, md, req, buf, time.Now().Add(timeout), done, bb)
	if b == nil {
		own.flush()
	}
	t := time.AfterFunc(timeout, func() {
		cc.end(fmt.Errorf("call to %s: %w", method, context.DeadlineExceeded))
	})
	cc.mu.Lock()
	if cc.ended {
		t.Stop()
	} else {
		cc.timer = t
	}
	cc.mu.Unlock()
}

// start opens a call whose outcome goes to done.
func (c *Client) start(method string, md metadata.MD, req, buf []byte, deadline time.Time, done func(Reply, error), b *batch) *clientCall {
	cc := &clientCall{cl: c, resp: buf[:0], done: done, deadline: deadline}
	cc.fields = requestFields(method, c.be.key.addr, md, deadline)
	cc.body = make([]byte, 5, 5+len(req))
	binary.BigEndian.PutUint32(cc.body[1:], uint32(len(req)))
	cc.body = append(cc.body, req...)
	cc.mu.Lock()
	cc.openLocked(b)
	cc.mu.Unlock()
	return cc
}

// requestFields are the headers of a call to method.
func requestFields(method, authority string, md metadata.MD, deadline time.Time) []hpack.HeaderField {
	fs := make([]hpack.HeaderField, 0, 7+len(md))
	fs = append(fs,
		hpack.HeaderField{Name: ":method", Value: "POST"},
		hpack.HeaderField{Name: ":scheme", Value: "http"},
		hpack.HeaderField{Name: ":path", Value: method},
		hpack.HeaderField{Name: ":authority", Value: authority},
		hpack.HeaderField{Name: "content-type", Value: "application/grpc"},
		hpack.HeaderField{Name: "te", Value: "trailers"})
	fs = append(fs, hpack.HeaderField{Name: "grpc-timeout", Value: encodeTimeout(time.Until(deadline))})
	return appendMetadata(fs, md)
}

// clientCall is one call of a Client, fed by its back connection.
type clientCall struct {
	mu       sync.Mutex
	cl       *Client
	bc       *backConn // nil until open
	id       uint32
	fields   []hpack.HeaderField
	body     []byte // the request not yet sent
	sent     bool   // END_STREAM went out
	peerDone bool   // the server ended or reset its side, or the connection is gone
	win      int64  // the server's window for this stream
	unacked  int64
	resp     []byte // the response's bytes, prefixes included
	reply    Reply
	err      error
	ended    bool
	done     func(Reply, error)
	timer    *time.Timer
	deadline time.Time
}

var _ upstreamCall = (*clientCall)(nil)

// openLocked starts the call on a connection, or waits for one.
func (cc *clientCall) openLocked(b *batch) {
	bc, err := cc.cl.be.acquire(cc)
	switch {
	case err != nil:
		cc.endLocked(fmt.Errorf("connection error: %w", err), b)
	case bc != nil:
		cc.bc = bc
		cc.id, cc.win = bc.openStream(cc, cc.fields, "", false, b)
		cc.fields = nil
		cc.pushLocked(b)
	}
}

// pushLocked sends what is left of the request, as the windows allow.
func (cc *clientCall) pushLocked(b *batch) {
	if cc.sent || cc.bc == nil {
		return
	}
	bc := cc.bc
	bc.wmu.Lock()
	n := bc.writeDataLocked(cc, cc.id, &cc.win, cc.body, true)
	bc.wmu.Unlock()
	b.add(&bc.h2conn)
	cc.body = cc.body[n:]
	cc.sent = len(cc.body) == 0
}

// endLocked ends the call once, with err or the reply, and frees its
// stream; a stream the server has not closed is reset. done runs when b
// is flushed.
func (cc *clientCall) endLocked(err error, b *batch) {
	if cc.ended {
		return
	}
	cc.ended, cc.err = true, err
	if cc.timer != nil {
		cc.timer.Stop()
	}
	if cc.bc != nil {
		if !cc.peerDone || !cc.sent {
			cc.bc.writeRST(cc.id, http2.ErrCodeCancel, b)
		}
		cc.bc.forget(cc.id)
	}
	b.ended = append(b.ended, cc)
}

// end ends the call from outside its connection's reader (its timer).
func (cc *clientCall) end(err error) {
	var b batch
	cc.mu.Lock()
	cc.endLocked(err, &b)
	cc.mu.Unlock()
	b.flush()
}

func (cc *clientCall) connected(err error, b *batch) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.ended {
		return
	}
	if err != nil {
		cc.endLocked(fmt.Errorf("connection error: %w", err), b)
		return
	}
	cc.openLocked(b)
}

func (cc *clientCall) headers(f *http2.MetaHeadersFrame, b *batch) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	switch {
	case cc.ended:
	case f.Truncated:
		cc.endLocked(errors.New("response header list larger than 1MiB"), b)
	case f.StreamEnded():
		cc.peerDone = true
		cc.trailersLocked(f.Fields, b)
	}
}

// trailersLocked takes the server's status and the one response message.
func (cc *clientCall) trailersLocked(fields []hpack.HeaderField, b *batch) {
	cc.reply.Code = grpcStatus(fields)
	for _, f := range fields {
		if f.Name == "grpc-message" {
			cc.reply.Status = decodeMessage(f.Value)
		}
	}
	switch {
	case len(cc.resp) == 0:
	case len(cc.resp) < 5 || int(grpcLength(cc.resp)) != len(cc.resp)-5:
		cc.endLocked(errors.New("the response is not one whole gRPC message"), b)
		return
	case cc.resp[0] != 0:
		cc.endLocked(errors.New("the response is compressed, which the client did not ask for"), b)
		return
	default:
		cc.reply.Message = cc.resp[:copy(cc.resp, cc.resp[5:])] // in buf, from its start
	}
	cc.endLocked(nil, b)
}

func (cc *clientCall) data(f *http2.DataFrame, b *batch) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	n := int(f.Header().Length)
	if cc.ended {
		cc.bc.credit(0, nil, n, b)
		return
	}
	cc.resp = append(cc.resp, f.Data()...)
	if len(cc.resp) > cc.cl.maxRecv+5 {
		cc.bc.credit(0, nil, n, b)
		cc.endLocked(fmt.Errorf("received message larger than max (%d)", cc.cl.maxRecv), b)
		return
	}
	cc.bc.credit(cc.id, &cc.unacked, n, b)
	if f.StreamEnded() {
		cc.peerDone = true
		cc.endLocked(errors.New("server closed the stream without sending trailers"), b)
	}
}

func (cc *clientCall) reset(code http2.ErrCode, b *batch) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.peerDone, cc.sent = true, true
	err := fmt.Errorf("stream terminated by RST_STREAM with error code: %v", code)
	if code == http2.ErrCodeCancel && nearDeadline(cc.deadline) {
		err = fmt.Errorf("the server ended the call at its deadline: %w", context.DeadlineExceeded)
	}
	cc.endLocked(err, b)
}

func (cc *clientCall) window(incr int64, b *batch) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.win += incr
	if !cc.ended {
		cc.pushLocked(b)
	}
}

func (cc *clientCall) unblocked(_ *h2conn, b *batch) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if !cc.ended {
		cc.pushLocked(b)
	}
}

func (cc *clientCall) gone(err error, b *batch) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.peerDone, cc.sent = true, true
	cc.endLocked(fmt.Errorf("connection error: %w", err), b)
}
