package shadow

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/driftcar/driftcar/grpcproxy"
	"github.com/driftcar/driftcar/internal/payload"
)

// modelInfer ends the method path of the calls that are mirrored.
const modelInfer = "/ModelInfer"

// metaShadow marks mirrored calls, as headerShadow marks requests.
const metaShadow = "x-driftcar-shadow"

var shadowMark = []string{"1"}

// GRPCTap returns the mirror's gRPC side, a tap for the gRPC listener's
// route: ModelInfer calls are mirrored to the shadow's grpc_address by
// the same fraction and request id as HTTP requests, from a queue and
// workers of their own, and compared output by output with the live
// response. It is nil unless the shadow upstream has a GRPCAddress and
// the route's protocol is open-inference-v2.
func (m *Mirror) GRPCTap() grpcproxy.Tap {
	if m.grpc == nil {
		return nil
	}
	return m.grpc
}

// grpcSide is a Mirror's gRPC half. One sender starts the queued calls,
// at most spec.Workers at once, and the client's readers compare the
// answers; they share the Mirror's stop, wait group, byte budget,
// metrics, ring and answers.
type grpcSide struct {
	m      *Mirror
	client *grpcproxy.Client
	queue  chan *grpcPending
	slots  chan struct{} // one per call in flight
	wake   chan struct{} // a burst's worth of slots came free
	burst  int
	calls  sync.WaitGroup
	seq    atomic.Uint64 // for calls without an id
	pool   sync.Pool     // *grpcPending
}

var _ grpcproxy.Tap = (*grpcSide)(nil)

func newGRPCSide(m *Mirror) *grpcSide {
	u := m.spec.Upstream
	g := &grpcSide{
		m:      m,
		client: grpcproxy.NewClient(u.GRPCAddress, u.ConnectTimeout, m.spec.MaxLiveBody, m.log),
		queue:  make(chan *grpcPending, m.spec.Queue),
		slots:  make(chan struct{}, m.spec.Workers),
		wake:   make(chan struct{}, 1),
		burst:  max(1, m.spec.Workers/8),
	}
	g.pool.New = func() any {
		p := &grpcPending{out: metadata.MD{}}
		p.done = func(rep grpcproxy.Reply, err error) { g.answered(p, rep, err) }
		return p
	}
	return g
}

// grpcPending is one mirrored call. Request and live response are the
// relay's own slices, which it never reuses; resp is the shadow's.
type grpcPending struct {
	method   string
	md       grpcproxy.Metadata // the client's
	out      metadata.MD        // sent to the shadow
	req      []byte
	live     []byte
	liveCut  bool
	liveCode codes.Code
	resp     []byte
	id       []byte
	size     int64
	answer   Answer
	start    time.Time
	done     func(grpcproxy.Reply, error) // g.answered for this p
}

// Call takes a finished call from the relay. It never blocks: a copy of
// the call's references goes to a bounded queue, or is dropped and counted.
func (g *grpcSide) Call(c *grpcproxy.Call) {
	m := g.m
	rm := m.metrics
	// A compressed request is not kept (c.Request nil): the mirror would
	// send an empty one.
	if c.Requests != 1 || c.Responses > 1 || c.Request == nil || !strings.HasSuffix(c.Method, modelInfer) {
		rm.results[ResultSkippedMethod].Inc()
		return
	}
	if len(g.queue) == cap(g.queue) && m.fraction.Load().All() {
		rm.results[ResultDroppedQueueFull].Inc() // the common case under load: no id to read
		return
	}
	p := g.pool.Get().(*grpcPending)
	if id, ok := payload.ModelInferID(c.Request); ok {
		p.id = append(p.id[:0], id...)
	} else if v := c.Metadata.Get(requestIDKey); v != "" {
		p.id = append(p.id[:0], v...)
	} else {
		p.id = strconv.AppendUint(append(p.id[:0], "grpc-"...), g.seq.Add(1), 16)
	}
	if !m.sampled(p.id) {
		rm.results[ResultSkippedNotSampled].Inc()
		g.recycle(p)
		return
	}
	if len(c.Request) > m.spec.MaxBody {
		rm.results[ResultSkippedBodyTooLarge].Inc()
		g.recycle(p)
		return
	}
	live, cut := c.Response, false
	if len(live) > m.spec.MaxLiveBody {
		live, cut = live[:m.spec.MaxLiveBody], true
	}
	size := int64(len(c.Request) + len(live))
	// Fast path: reserve the bytes, then a queue slot; undo on failure.
	if m.bytesHeld.Add(size) > m.spec.QueueBytes {
		m.bytesHeld.Add(-size)
		rm.results[ResultDroppedQueueFull].Inc()
		g.recycle(p)
		return
	}
	p.method, p.md, p.req, p.live, p.liveCut, p.liveCode, p.size = c.Method, c.Metadata, c.Request, live, cut, c.Code, size
	select {
	case g.queue <- p:
	default:
		g.release(p)
		rm.results[ResultDroppedQueueFull].Inc()
	}
}

// requestIDKey is the metadata key of the request id, as X-Request-Id.
const requestIDKey = "x-request-id"

// sendGather is how long, at most, the sender gathers calls after the
// first, so that a burst of them leaves in one write and its answers, as
// a rule, come back in one read; a burst's worth of slots coming free
// (an eighth of the workers) ends the wait early, so a fast shadow is not
// held back. The shadow's timing is not the live call's.
const sendGather = 20 * time.Millisecond

// send starts the queued calls, each once a slot is free, in bursts.
func (g *grpcSide) send() {
	defer g.m.wg.Done()
	var b grpcproxy.Batch
	gather := time.NewTimer(time.Hour)
	gather.Stop()
	for {
		select {
		case g.slots <- struct{}{}:
		case <-g.m.stop:
			return
		}
		select {
		case p := <-g.queue:
			g.start(p, &b)
		case <-g.m.stop:
			return
		}
		gather.Reset(sendGather)
		select {
		case <-gather.C:
		case <-g.wake:
			gather.Stop()
		case <-g.m.stop:
			gather.Stop()
			b.Flush()
			return
		}
		for g.startReady(&b) {
		}
		b.Flush()
	}
}

// freed returns a call's slot and wakes the sender once a burst's worth
// are free.
func (g *grpcSide) freed() {
	<-g.slots
	if cap(g.slots)-len(g.slots) >= g.burst {
		select {
		case g.wake <- struct{}{}:
		default:
		}
	}
}

// startReady starts a queued call if one waits and a slot is free.
func (g *grpcSide) startReady(b *grpcproxy.Batch) bool {
	select {
	case g.slots <- struct{}{}:
	default:
		return false
	}
	select {
	case p := <-g.queue:
		g.start(p, b)
		return true
	default:
		<-g.slots
		return false
	}
}

// start sends one call to the shadow; answered takes its outcome.
func (g *grpcSide) start(p *grpcPending, b *grpcproxy.Batch) {
	m := g.m
	m.metrics.inflight.Inc()
	clear(p.out)
	p.md.Range(func(k, v string) {
		if !g.stripped(k) {
			p.out[k] = append(p.out[k], v)
		}
	})
	p.out[metaShadow] = shadowMark
	g.calls.Add(1)
	p.start = time.Now()
	g.client.Go(p.method, p.out, p.req, p.resp, m.spec.Upstream.Timeout, p.done, b)
}

// answered compares the shadow's answer with the live one, which is
// already there. It runs on a client reader or timer and survives a
// panic on a hostile message.
func (g *grpcSide) answered(p *grpcPending, rep grpcproxy.Reply, err error) {
	m := g.m
	defer g.calls.Done()
	defer g.freed()
	defer m.metrics.inflight.Dec()
	defer g.release(p)
	defer m.panics.Recover("shadow")
	rm := m.metrics
	rm.upstream.Observe(time.Since(p.start).Seconds())
	p.resp = p.resp[:0]
	if rep.Message != nil {
		p.resp = rep.Message
	}
	code := rep.Code
	switch {
	case err == nil && !noAnswer(code):
		rm.results[ResultOK].Inc()
	case code == codes.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded):
		// The shadow's deadline is ours, and its timer may fire first.
		rm.results[ResultTimeout].Inc()
		g.report(p, 0, "timeout", "", nil)
		return
	default:
		rm.results[ResultError].Inc()
		if c := m.log.Check(zap.DebugLevel, "shadow call failed"); c != nil {
			c.Write(zap.String("route", m.spec.Route), zap.Error(err), zap.Stringer("code", code), zap.String("message", rep.Status))
		}
		g.report(p, 0, "error", "", nil)
		return
	}
	c := m.comparator.Get().(*comparator)
	v := &c.verdict
	c.compareModelInfer(p.liveCode, p.live, p.liveCut, code, p.resp, v)
	if m.record(v) && m.ring != nil {
		m.ring.Add(g.sample(p, code, v))
	}
	g.report(p, code, "", v.outcome(), v.shadowPreds)
	m.comparator.Put(c)
}

func (g *grpcSide) stripped(key string) bool {
	if strings.HasPrefix(key, ":") {
		return true
	}
	for _, h := range g.m.strip {
		if strings.EqualFold(key, h) {
			return true
		}
	}
	return false
}

// noAnswer reports whether a shadow's status means there is no answer to
// compare: it was unreachable, too slow, or gave up, whoever says so.
func noAnswer(c codes.Code) bool {
	return c == codes.Unavailable || c == codes.DeadlineExceeded || c == codes.Canceled
}

// report hands p's Answer to the Answers.
func (g *grpcSide) report(p *grpcPending, code codes.Code, failure, outcome string, preds []payload.Prediction) {
	m := g.m
	if m.answers == nil {
		return
	}
	st := 0
	if failure == "" {
		st = HTTPStatus(code)
	}
	p.answer = Answer{
		Route: m.spec.Route, RequestID: p.id, Status: st, LiveStatus: HTTPStatus(p.liveCode),
		Failure: failure, Outcome: outcome, Predictions: preds,
		GRPC: true, Code: code, LiveCode: p.liveCode,
	}
	m.answers.ShadowAnswer(&p.answer)
	p.answer = Answer{}
}

func (g *grpcSide) sample(p *grpcPending, code codes.Code, v *verdict) Sample {
	m := g.m
	s := Sample{
		Time:         m.now(),
		Route:        m.spec.Route,
		RequestID:    string(p.id),
		Method:       http.MethodPost,
		Path:         p.method,
		LiveStatus:   HTTPStatus(p.liveCode),
		ShadowStatus: HTTPStatus(code),
		Reason:       v.reason,
		Index:        v.index,
		Matched:      v.counts[Match],
		Mismatched:   v.counts[Mismatch],
	}
	var cut1, cut2, cut3, cut4, cut5 bool
	s.Live, cut4 = m.ring.cut([]byte(v.liveVal))
	s.Shadow, cut5 = m.ring.cut([]byte(v.shVal))
	if m.ring.requestBody {
		s.RequestBody, cut1 = m.ring.cut(p.req)
	}
	s.LiveBody, cut2 = m.ring.cut(p.live)
	s.ShadowBody, cut3 = m.ring.cut(p.resp)
	s.Truncated = cut1 || cut2 || cut3 || cut4 || cut5 || p.liveCut
	return s
}

// release returns p's byte reservation and p to the pool.
func (g *grpcSide) release(p *grpcPending) {
	g.m.bytesHeld.Add(-p.size)
	g.recycle(p)
}

func (g *grpcSide) recycle(p *grpcPending) {
	if cap(p.resp) > maxPooledBody {
		return
	}
	clear(p.out)
	p.method, p.md, p.req, p.live, p.liveCut, p.liveCode, p.size = "", grpcproxy.Metadata{}, nil, nil, false, codes.OK, 0
	p.resp, p.id = p.resp[:0], p.id[:0]
	g.pool.Put(p)
}

// drain drops what is still queued after the workers stopped and closes
// the shadow connection.
func (g *grpcSide) drain() {
	for {
		select {
		case p := <-g.queue:
			g.m.metrics.results[ResultDroppedQueueFull].Inc()
			g.release(p)
		default:
			g.client.Close() // ends the calls in flight
			g.calls.Wait()
			return
		}
	}
}

// HTTPStatus maps a gRPC code to the HTTP status of the same meaning, as
// google.rpc.Code documents it, so that consumers of Answer.Status treat
// both protocols alike.
func HTTPStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.Canceled:
		return 499
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError // Unknown, Internal, DataLoss
}
