package shadow

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/driftcar/driftcar/internal/fraction"
	"github.com/driftcar/driftcar/internal/panics"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/proxy"
)

const headerShadow = "X-Driftcar-Shadow"

// maxPooledBody is the largest request or live body whose buffers return
// to the pool; larger ones are left to the garbage collector.
const maxPooledBody = 256 << 10

// Mirror shadows one route. Build it with New; it owns its workers.
type Mirror struct {
	spec       Spec
	log        *zap.Logger
	client     *fasthttp.HostClient
	metrics    *routeMetrics
	queues     *queueLengths
	ring       *Ring
	answers    Answers
	panics     *panics.Counter
	queue      chan *Pending
	bytesHeld  atomic.Int64
	fraction   atomic.Pointer[fraction.Fraction]
	methods    [][]byte
	strip      []string
	now        func() time.Time
	stop       chan struct{}
	stopOnce   sync.Once
	wg         sync.WaitGroup
	comparator sync.Pool // *comparator
	grpc       *grpcSide // nil without a gRPC shadow
}

// Options are a Mirror's dependencies.
type Options struct {
	Logger  *zap.Logger
	Metrics *Metrics
	// Ring receives mismatch samples. Optional.
	Ring *Ring
	// Now is the clock for mismatch timestamps. Default time.Now.
	Now func() time.Time
	// Panics counts the panics the workers recover from. Nil lets a panic
	// crash the process.
	Panics *panics.Counter
	// Answers, when set, gets every mirrored request's shadow side.
	Answers Answers
}

// Answer is the shadow side of one mirrored request.
type Answer struct {
	Route     string
	RequestID []byte
	// Status is the shadow's HTTP status; 0 when the call failed.
	Status int
	// LiveStatus is the client's status when the live answer has come,
	// else 0.
	LiveStatus int
	// Failure is "timeout" or "error" for a failed shadow call, "expired"
	// when the live answer did not come within the pair timeout, "" else.
	Failure string
	// Outcome is the comparison: match, mismatch, undecodable,
	// status_mismatch or failed_alike; "" on failure.
	Outcome string
	// Predictions are the shadow's, when both sides answered 2xx.
	Predictions []payload.Prediction
	// GRPC is set for a mirrored gRPC call: Code and LiveCode are its
	// status codes (Code 0 when the call failed), and Status and
	// LiveStatus their HTTP equivalents (see HTTPStatus).
	GRPC           bool
	Code, LiveCode codes.Code
}

// Answers receives the Answer of every mirrored request on the shadow's
// worker. ShadowAnswer must not block and must not keep a or its slices.
// Implementations must be safe for concurrent use.
type Answers interface {
	ShadowAnswer(a *Answer)
}

// New starts a mirror and its workers for spec.
func New(spec Spec, opts Options) (*Mirror, error) {
	if err := spec.Check(); err != nil {
		return nil, err
	}
	spec = spec.withDefaults()
	m := &Mirror{
		spec:    spec,
		log:     opts.Logger,
		metrics: opts.Metrics.forRoute(spec.Route),
		queues:  opts.Metrics.queues,
		ring:    opts.Ring,
		answers: opts.Answers,
		queue:   make(chan *Pending, spec.Queue),
		now:     opts.Now,
		panics:  opts.Panics,
		stop:    make(chan struct{}),
	}
	if m.log == nil {
		m.log = zap.NewNop()
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.setFraction(spec.Fraction)
	m.queues.add(m, spec.Route)
	for _, meth := range spec.Methods {
		m.methods = append(m.methods, []byte(meth))
	}
	m.strip = spec.StripHeaders
	u := spec.Upstream
	m.client = &fasthttp.HostClient{
		Addr:                     u.Address,
		MaxConns:                 u.MaxConns,
		MaxConnWaitTimeout:       u.Timeout,
		MaxIdleConnDuration:      time.Minute,
		ConnPoolStrategy:         fasthttp.LIFO, // idle extras close after a burst
		NoDefaultUserAgentHeader: true,
		DisablePathNormalizing:   true,
		MaxResponseBodySize:      spec.MaxLiveBody,
		DialTimeout: func(addr string, remaining time.Duration) (net.Conn, error) {
			return fasthttp.DialTimeout(addr, min(remaining, u.ConnectTimeout))
		},
		RetryIfErr: func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
	}
	m.comparator.New = func() any {
		c, _ := newComparator(spec) // spec passed Check
		return c
	}
	if u.GRPCAddress != "" && spec.Protocol == payload.OpenInferenceV2 {
		m.grpc = newGRPCSide(m)
	}
	for range spec.Workers {
		m.wg.Add(1)
		go m.work()
	}
	if m.grpc != nil {
		m.wg.Add(1)
		go m.grpc.send()
	}
	return m, nil
}

// Spec returns the mirror's effective spec, defaults filled in.
func (m *Mirror) Spec() Spec {
	s := m.spec
	s.Fraction = m.fraction.Load().Value()
	return s
}

// Stop tells the workers to end after their current request (each is
// bounded by the shadow timeout) and returns at once; Wait waits for them.
func (m *Mirror) Stop() {
	m.stopOnce.Do(func() { close(m.stop) })
}

// Wait waits for the stopped workers, then drops what is still queued and
// closes idle shadow connections.
func (m *Mirror) Wait() {
	m.wg.Wait()
	for {
		select {
		case p := <-m.queue:
			m.metrics.results[ResultDroppedQueueFull].Inc()
			p.release()
		default:
			if m.grpc != nil {
				m.grpc.drain()
			}
			m.queues.remove(m)
			m.client.CloseIdleConnections()
			return
		}
	}
}

var (
	_ proxy.Mirror   = (*Mirror)(nil)
	_ proxy.LiveSink = (*Pending)(nil)
)

// Offer decides whether to mirror req and, if so, copies it and queues the
// copy. It never blocks. A non-nil result must get exactly one Live call.
func (m *Mirror) Offer(req *fasthttp.Request, requestID []byte) proxy.LiveSink {
	rm := m.metrics
	if !m.sampled(requestID) {
		rm.results[ResultSkippedNotSampled].Inc()
		return nil
	}
	if !m.methodAllowed(req.Header.Method()) {
		rm.results[ResultSkippedMethod].Inc()
		return nil
	}
	size := int64(len(req.Body()))
	if size > int64(m.spec.MaxBody) {
		rm.results[ResultSkippedBodyTooLarge].Inc()
		return nil
	}
	// Fast path: reserve the bytes, then a queue slot; undo on failure.
	if m.bytesHeld.Add(size) > m.spec.QueueBytes {
		m.bytesHeld.Add(-size)
		rm.results[ResultDroppedQueueFull].Inc()
		return nil
	}
	p := acquirePending(m)
	p.size = size
	p.requestID = append(p.requestID[:0], requestID...)
	req.CopyTo(&p.req)
	for _, h := range m.strip {
		p.req.Header.Del(h)
	}
	p.req.Header.Set(headerShadow, "1")
	select {
	case m.queue <- p:
		return p
	default:
		p.refs.Store(1)
		p.release()
		rm.results[ResultDroppedQueueFull].Inc()
		return nil
	}
}

// setFraction changes the mirrored share in place, for a canary step.
func (m *Mirror) setFraction(f float64) {
	share := fraction.New(f)
	m.fraction.Store(&share)
}

// sampled reports whether the request with this id is mirrored: the same
// id always gets the same answer, on every pod.
func (m *Mirror) sampled(requestID []byte) bool { return m.fraction.Load().Has(requestID) }

func (m *Mirror) methodAllowed(method []byte) bool {
	for _, allowed := range m.methods {
		if bytes.EqualFold(method, allowed) {
			return true
		}
	}
	return false
}

func (m *Mirror) work() {
	defer m.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-m.stop:
			return
		case p := <-m.queue:
			m.serveGuarded(p, timer)
		}
	}
}

// serveGuarded is serve, surviving a panic on a hostile body.
func (m *Mirror) serveGuarded(p *Pending, timer *time.Timer) {
	defer m.panics.Recover("shadow")
	m.serve(p, timer)
}

// serve sends one copy to the shadow, waits for the live half and
// compares.
func (m *Mirror) serve(p *Pending, timer *time.Timer) {
	defer p.release()
	rm := m.metrics
	rm.inflight.Inc()
	defer rm.inflight.Dec()

	start := time.Now()
	err := m.client.DoTimeout(&p.req, &p.resp, m.spec.Upstream.Timeout)
	rm.upstream.Observe(time.Since(start).Seconds())
	switch {
	case err == nil:
		rm.results[ResultOK].Inc()
	case isTimeout(err):
		rm.results[ResultTimeout].Inc()
		m.report(p, 0, p.liveStatusSeen(), "timeout", "", nil)
		return
	default:
		rm.results[ResultError].Inc()
		if c := m.log.Check(zap.DebugLevel, "shadow request failed"); c != nil {
			c.Write(zap.String("route", m.spec.Route), zap.Error(err))
		}
		m.report(p, 0, p.liveStatusSeen(), "error", "", nil)
		return
	}

	timer.Reset(m.spec.PairTimeout)
	select {
	case <-p.liveDone:
		if !timer.Stop() {
			<-timer.C
		}
	case <-timer.C:
		rm.expired.Inc()
		m.report(p, p.resp.StatusCode(), 0, "expired", "", nil)
		return
	}
	c := m.comparator.Get().(*comparator)
	m.compare(c, p)
	if m.answers != nil {
		m.report(p, p.resp.StatusCode(), p.liveStatus, "", c.verdict.outcome(), c.verdict.shadowPreds)
	}
	m.comparator.Put(c)
}

// report hands p's Answer to the Answers.
func (m *Mirror) report(p *Pending, status, liveStatus int, failure, outcome string, preds []payload.Prediction) {
	if m.answers == nil {
		return
	}
	p.answer = Answer{Route: m.spec.Route, RequestID: p.requestID, Status: status, LiveStatus: liveStatus, Failure: failure, Outcome: outcome, Predictions: preds}
	m.answers.ShadowAnswer(&p.answer)
	p.answer = Answer{}
}

func isTimeout(err error) bool {
	if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// Pending is one mirrored request: the copy sent to the shadow and, once
// Live is called, the copy of the live response.
type Pending struct {
	req        fasthttp.Request
	resp       fasthttp.Response // the shadow's
	liveStatus int
	liveBody   []byte
	liveCut    bool // live body was longer than MaxLiveBody
	liveHdr    int  // binary tensor header length, or payload.JSONBody
	liveDone   chan struct{}
	requestID  []byte
	answer     Answer // handed to the Answers
	refs       atomic.Int32
	size       int64
	owner      *Mirror
}

var pendingPool = sync.Pool{New: func() any {
	return &Pending{liveDone: make(chan struct{}, 1)}
}}

func acquirePending(owner *Mirror) *Pending {
	p := pendingPool.Get().(*Pending)
	p.owner = owner
	p.refs.Store(2) // the worker's and Live's
	return p
}

// Live records the response the client got. It never blocks, and resp may
// be reused after it returns.
func (p *Pending) Live(resp *fasthttp.Response) {
	p.liveStatus = resp.StatusCode()
	body := resp.Body()
	if max := p.owner.spec.MaxLiveBody; len(body) > max {
		body, p.liveCut = body[:max], true
	}
	p.liveBody = append(p.liveBody[:0], body...)
	p.liveHdr = payload.ParseHeaderLength(resp.Header.Peek(payload.BinaryHeader))
	p.liveDone <- struct{}{} // capacity 1, sent once: never blocks
	p.release()
}

// liveStatusSeen is the live status if Live has run, else 0, for a
// worker that gives up before pairing.
func (p *Pending) liveStatusSeen() int {
	select {
	case <-p.liveDone:
		p.liveDone <- struct{}{} // put it back for the pairing
		return p.liveStatus
	default:
		return 0
	}
}

// release drops one reference; the last one returns the byte reservation
// and p to the pool.
func (p *Pending) release() {
	if p.refs.Add(-1) != 0 {
		return
	}
	p.owner.bytesHeld.Add(-p.size)
	p.recycle()
}

func (p *Pending) recycle() {
	if len(p.req.Body()) > maxPooledBody || cap(p.liveBody) > maxPooledBody || len(p.resp.Body()) > maxPooledBody {
		return
	}
	select {
	case <-p.liveDone:
	default:
	}
	p.req.Reset()
	p.resp.Reset()
	p.liveBody = p.liveBody[:0]
	p.liveStatus, p.liveCut, p.liveHdr, p.size, p.owner = 0, false, payload.JSONBody, 0, nil
	pendingPool.Put(p)
}
