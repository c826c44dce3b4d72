package grpcproxy

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
)

// stream is one relayed call: a client stream on a front connection and,
// once open, an upstream stream on a back connection. The readers of
// both connections work on it under mu; lock order is stream, then a
// connection's write lock, then its stream map.
type stream struct {
	mu    sync.Mutex
	srv   *Server
	front *frontConn
	fid   uint32
	back  *backConn // nil until the call is open upstream
	bid   uint32

	r        *route
	armIdx   int
	fellBack bool
	method   string
	fields   []hpack.HeaderField // the client's headers, until open
	md       Metadata            // for the tap only
	call     Call                // what the tap sees
	start    time.Time
	deadline time.Time

	up   half // client to upstream
	down half // upstream to client

	respHeaders bool                // headers went to the client
	trailers    []hpack.HeaderField // the upstream's, behind down.pending
	backDone    bool                // the upstream ended or reset its side
	finished    bool                // the status is decided, counted and tapped
	closed      bool
}

// half is one direction of a stream.
type half struct {
	win     int64  // the destination's window for this stream
	pending []byte // received, waiting for that window
	end     bool   // the source sent END_STREAM
	endSent bool   // END_STREAM went to the destination
	unacked int64  // relayed bytes not yet credited to the source
	scan    msgScan
}

func (st *stream) arm() *arm { return st.r.arms[st.armIdx] }

// dst returns where h's bytes go, nil while there is nowhere yet.
func (st *stream) dst(h *half) (*h2conn, uint32) {
	if h == &st.up {
		if st.back == nil {
			return nil, 0
		}
		return &st.back.h2conn, st.bid
	}
	return &st.front.h2conn, st.fid
}

// src returns where h's bytes come from.
func (st *stream) src(h *half) (*h2conn, uint32) {
	if h == &st.up {
		return &st.front.h2conn, st.fid
	}
	return &st.back.h2conn, st.bid
}

// openLocked starts the call on its arm, or waits for the arm's
// connection, or fails over to the fallback arm.
func (st *stream) openLocked(b *batch) {
	a := st.arm()
	if a.backend == nil {
		st.armFailedLocked(ErrNoGRPCAddress, b)
		return
	}
	bc, err := a.backend.acquire(st)
	switch {
	case err != nil:
		st.armFailedLocked(err, b)
	case bc != nil:
		st.bindLocked(bc, b)
	}
}

// bindLocked opens the upstream stream on bc, which has a slot reserved
// for it, and sends what the client sent so far.
func (st *stream) bindLocked(bc *backConn, b *batch) {
	end := st.up.end && len(st.up.pending) == 0
	st.back = bc
	st.bid, st.up.win = bc.openStream(st, st.fields, bc.be.key.addr, end, b)
	st.fields = nil
	if end {
		st.up.endSent = true
		return
	}
	st.pushLocked(&st.up, b)
}

// armFailedLocked handles an arm that could not take the call: the call
// never reached it, so the fallback arm may.
func (st *stream) armFailedLocked(err error, b *batch) {
	r := st.r
	if r.fallback >= 0 && r.fallback != st.armIdx && !st.fellBack {
		if m := st.arm().metrics; m != nil {
			m.fallback.Inc()
		}
		st.armIdx, st.fellBack = r.fallback, true
		st.openLocked(b)
		return
	}
	st.failLocked(codes.Unavailable, armMessage(r.name, st.arm().name, err.Error()), b)
}

// dataLocked takes a DATA frame from h's source.
func (st *stream) dataLocked(h *half, f *http2.DataFrame, b *batch) {
	data := f.Data()
	src, srcID := st.src(h)
	if pad := int(f.Header().Length) - len(data); pad > 0 {
		src.credit(srcID, &h.unacked, pad, b)
	}
	if h.end {
		src.credit(0, nil, len(data), b) // DATA after END_STREAM: dropped
		return
	}
	limit := st.srv.maxRecv
	if h == &st.down {
		limit = min(st.srv.maxSend, st.srv.maxRecv)
	}
	if n, over := h.scan.feed(data, limit); over {
		src.credit(0, nil, len(data), b)
		msg := fmt.Sprintf("grpc: received message larger than max (%d vs. %d)", n, limit)
		if h == &st.down {
			msg = armMessage(st.r.name, st.arm().name, msg)
		}
		st.failLocked(codes.ResourceExhausted, msg, b)
		return
	}
	st.relayLocked(h, data, f.StreamEnded(), b)
}

// relayLocked passes data from h's source on, as far as the windows
// allow, and keeps the rest.
func (st *stream) relayLocked(h *half, data []byte, end bool, b *batch) {
	dst, id := st.dst(h)
	if dst == nil || len(h.pending) > 0 {
		h.pending = append(h.pending, data...)
		h.end = h.end || end
		if dst != nil && end && len(data) == 0 {
			st.pushLocked(h, b)
		}
		return
	}
	dst.wmu.Lock()
	n := dst.writeDataLocked(st, id, &h.win, data, end)
	dst.wmu.Unlock()
	b.add(dst)
	if n < len(data) {
		h.pending = append(h.pending, data[n:]...)
	}
	h.end = end
	h.endSent = end && n == len(data)
	st.creditLocked(h, n, b)
	if h == &st.down && h.endSent {
		st.endedWithoutTrailersLocked(b)
	}
}

// pushLocked sends what h holds, as far as the windows allow.
func (st *stream) pushLocked(h *half, b *batch) {
	dst, id := st.dst(h)
	if dst == nil || h.endSent || (len(h.pending) == 0 && !h.end) {
		return
	}
	dst.wmu.Lock()
	n := dst.writeDataLocked(st, id, &h.win, h.pending, h.end)
	dst.wmu.Unlock()
	b.add(dst)
	h.endSent = h.end && n == len(h.pending)
	h.pending = h.pending[:copy(h.pending, h.pending[n:])]
	st.creditLocked(h, n, b)
	if h != &st.down || len(h.pending) > 0 {
		return
	}
	if h.endSent {
		st.endedWithoutTrailersLocked(b)
	} else if st.trailers != nil {
		st.sendTrailersLocked(st.trailers, b)
	}
}

// creditLocked returns n relayed bytes of h to its source.
func (st *stream) creditLocked(h *half, n int, b *batch) {
	src, id := st.src(h)
	if h.end {
		src.credit(id, nil, n, b) // no more will come: the stream's window no longer matters
		return
	}
	src.credit(id, &h.unacked, n, b)
}

// windowLocked takes a WINDOW_UPDATE (or a change of the initial window)
// from h's destination.
func (st *stream) windowLocked(h *half, incr int64, b *batch) {
	h.win += incr
	st.pushLocked(h, b)
}

// responseHeadersLocked takes the upstream's headers or trailers.
func (st *stream) responseHeadersLocked(f *http2.MetaHeadersFrame, b *batch) {
	if f.Truncated {
		st.backDone = true
		st.failLocked(codes.Internal, armMessage(st.r.name, st.arm().name, "header list larger than 1MiB"), b)
		return
	}
	if !f.StreamEnded() {
		if st.respHeaders {
			return // a second header block without END_STREAM: gRPC has none
		}
		st.front.wmu.Lock()
		st.front.writeHeadersLocked(st.fid, f.Fields, "", false)
		st.front.wmu.Unlock()
		b.add(&st.front.h2conn)
		st.respHeaders = true
		return
	}
	st.backDone = true
	st.down.end = true
	st.finishLocked(grpcStatus(f.Fields))
	if len(st.down.pending) > 0 {
		st.trailers = f.Fields
		return
	}
	st.sendTrailersLocked(f.Fields, b)
}

// sendTrailersLocked sends the upstream's trailers and ends the call.
func (st *stream) sendTrailersLocked(fields []hpack.HeaderField, b *batch) {
	st.front.wmu.Lock()
	st.front.writeHeadersLocked(st.fid, fields, "", true)
	st.front.wmu.Unlock()
	b.add(&st.front.h2conn)
	st.trailers = nil
	st.down.endSent = true
	st.closeEndedLocked(b)
}

// endedWithoutTrailersLocked ends a call whose upstream ended its side
// with DATA: a broken gRPC server. The client gets the frames as sent.
func (st *stream) endedWithoutTrailersLocked(b *batch) {
	st.backDone = true
	st.finishLocked(codes.Internal)
	st.closeEndedLocked(b)
}

// closeEndedLocked closes a call whose response ended, resetting
// whichever request side is still open.
func (st *stream) closeEndedLocked(b *batch) {
	if st.back != nil && !st.up.endSent {
		st.back.writeRST(st.bid, http2.ErrCodeCancel, b)
	}
	if !st.up.end {
		st.front.writeRST(st.fid, http2.ErrCodeNo, b)
	}
	st.closeLocked(b)
}

// failLocked ends the call with a status of driftcar's own.
func (st *stream) failLocked(code codes.Code, msg string, b *batch) {
	if st.closed {
		return
	}
	st.finishLocked(code)
	st.dropPendingLocked(b)
	if st.back != nil && !(st.backDone && st.up.endSent) {
		st.back.writeRST(st.bid, http2.ErrCodeCancel, b)
	}
	st.up.endSent = true
	if !st.down.endSent {
		st.front.wmu.Lock()
		st.front.writeHeadersLocked(st.fid, statusFields(code, msg, !st.respHeaders), "", true)
		st.front.wmu.Unlock()
		b.add(&st.front.h2conn)
		st.down.endSent = true
	}
	if !st.up.end {
		st.front.writeRST(st.fid, http2.ErrCodeNo, b)
	}
	st.closeLocked(b)
}

// clientGoneLocked ends a call the client reset or dropped.
func (st *stream) clientGoneLocked(b *batch) {
	if st.closed {
		return
	}
	code := codes.Canceled
	if st.pastDeadline() {
		code = codes.DeadlineExceeded
	}
	st.finishLocked(code)
	if st.back != nil && !(st.backDone && st.up.endSent) {
		st.back.writeRST(st.bid, http2.ErrCodeCancel, b)
	}
	st.closeLocked(b)
}

// pastDeadline reports whether the call's deadline has passed, or nearly.
func (st *stream) pastDeadline() bool { return nearDeadline(st.deadline) }

// upstreamResetLocked ends a call the upstream reset.
func (st *stream) upstreamResetLocked(code http2.ErrCode, b *batch) {
	st.backDone, st.up.endSent = true, true
	if code == http2.ErrCodeCancel && st.pastDeadline() {
		// grpc-go's server resets the stream when the deadline passes.
		st.failLocked(codes.DeadlineExceeded, "context deadline exceeded", b)
		return
	}
	if code == http2.ErrCodeRefusedStream && !st.respHeaders {
		st.refuseLocked(b)
		return
	}
	st.failLocked(rstStatus(code), armMessage(st.r.name, st.arm().name, "stream terminated by RST_STREAM with error code: "+code.String()), b)
}

// refuseLocked passes on an upstream's word that it did not process the
// call (REFUSED_STREAM, or a GOAWAY below the call's stream): the client's
// stream is refused too, so that the client may retry it (grpc-go does,
// unasked), and the retry is routed afresh. It is counted UNAVAILABLE
// and not tapped; the retry is the call.
func (st *stream) refuseLocked(b *batch) {
	if !st.finished {
		st.finished = true
		st.arm().observe(codes.Unavailable, st.start)
	}
	st.backDone, st.up.endSent, st.down.endSent = true, true, true
	st.dropPendingLocked(b)
	st.front.writeRST(st.fid, http2.ErrCodeRefusedStream, b)
	st.closeLocked(b)
}

// The upstream side of a relayed call, fed by its back connection.
var _ upstreamCall = (*stream)(nil)

func (st *stream) connected(err error, b *batch) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return
	}
	if err != nil {
		st.armFailedLocked(err, b)
	} else {
		st.openLocked(b)
	}
}

func (st *stream) headers(f *http2.MetaHeadersFrame, b *batch) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.closed {
		st.responseHeadersLocked(f, b)
	}
}

func (st *stream) data(f *http2.DataFrame, b *batch) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		st.back.credit(0, nil, int(f.Header().Length), b)
		return
	}
	st.dataLocked(&st.down, f, b)
}

func (st *stream) reset(code http2.ErrCode, b *batch) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.closed {
		st.upstreamResetLocked(code, b)
	}
}

func (st *stream) window(incr int64, b *batch) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.closed {
		st.windowLocked(&st.up, incr, b)
	}
}

func (st *stream) gone(err error, b *batch) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.closed {
		st.upstreamGoneLocked(err, b)
	}
}

// unblocked pushes the direction that waited for c's window.
func (st *stream) unblocked(c *h2conn, b *batch) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return
	}
	if c == &st.front.h2conn {
		st.pushLocked(&st.down, b)
	} else {
		st.pushLocked(&st.up, b)
	}
}

// upstreamGoneLocked ends a call whose upstream connection failed.
func (st *stream) upstreamGoneLocked(err error, b *batch) {
	if errors.Is(err, errGoAway) && !st.respHeaders {
		st.refuseLocked(b)
		return
	}
	st.backDone, st.up.endSent = true, true
	st.failLocked(codes.Unavailable, armMessage(st.r.name, st.arm().name, "error reading from server: "+err.Error()), b)
}

// finishLocked counts the call and shows it to the route's tap, once,
// before the status reaches the client.
func (st *stream) finishLocked(code codes.Code) {
	if st.finished {
		return
	}
	st.finished = true
	a := st.arm()
	if st.r.tap != nil {
		st.call = Call{
			Route: st.r.name, Arm: a.name, Method: st.method, Metadata: st.md,
			Requests: st.up.scan.count, Responses: st.down.scan.count, Code: code,
			Request: st.up.scan.message(), Response: st.down.scan.message(),
		}
		st.r.tap.Call(&st.call)
	}
	a.observe(code, st.start)
}

// dropPendingLocked discards what waits in either direction, crediting
// the source connections so their windows do not shrink for good.
func (st *stream) dropPendingLocked(b *batch) {
	for _, h := range [...]*half{&st.up, &st.down} {
		if len(h.pending) == 0 {
			continue
		}
		if h == &st.down && st.back == nil {
			continue
		}
		src, _ := st.src(h)
		src.credit(0, nil, len(h.pending), b)
		h.pending = nil
	}
	st.trailers = nil
}

// closeLocked forgets the stream on both connections.
func (st *stream) closeLocked(b *batch) {
	st.closed = true
	st.dropPendingLocked(b)
	st.front.forget(st.fid)
	if st.back != nil {
		st.back.forget(st.bid)
	}
}

// msgScan follows gRPC's length-prefixed messages in one direction: it
// counts them, checks their size, and keeps the first when asked.
type msgScan struct {
	hdr     [5]byte
	nhdr    int
	left    uint32
	count   int
	capture bool
	first   []byte
}

// feed follows p; over reports a message longer than limit, of length n.
func (m *msgScan) feed(p []byte, limit int) (n int, over bool) {
	for len(p) > 0 {
		if m.left == 0 {
			k := copy(m.hdr[m.nhdr:], p)
			m.nhdr += k
			p = p[k:]
			if m.nhdr < len(m.hdr) {
				return 0, false
			}
			m.nhdr = 0
			size := grpcLength(m.hdr[:])
			if int64(size) > int64(limit) {
				return int(size), true
			}
			m.count++
			m.left = size
			if m.count == 1 && m.capture && m.hdr[0] == 0 {
				m.first = make([]byte, 0, size)
			}
			continue
		}
		k := min(len(p), int(m.left))
		if m.count == 1 && m.first != nil {
			m.first = append(m.first, p[:k]...)
		}
		m.left -= uint32(k)
		p = p[k:]
	}
	return 0, false
}

// message returns the first message if it was kept whole.
func (m *msgScan) message() []byte {
	if m.first == nil || len(m.first) < cap(m.first) {
		return nil
	}
	return m.first
}
