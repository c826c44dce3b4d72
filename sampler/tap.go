package sampler

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/proxy"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// Drop reasons, the reason label of driftcar_sampler_dropped_total.
// Copies still queued when a config change retires their Tap are counted
// as reconfigured.
const (
	dropQueueFull = iota
	dropBodyTooLarge
	dropReconfigured
	numDrops
)

var dropNames = [numDrops]string{
	dropQueueFull:    "queue_full",
	dropBodyTooLarge: "body_too_large",
	dropReconfigured: "reconfigured",
}

// maxPooledBody is the largest body whose buffer returns to the pool.
const maxPooledBody = 256 << 10

// RouteSpec configures the tap of one route.
type RouteSpec struct {
	Route    string
	Protocol payload.Protocol
	Fraction float64
	Queue    int
	MaxBody  int
	Workers  int
	// Arms are the route's split arms. With a prediction and more than one
	// arm, each arm also gets a prediction-only State, so the canary guard
	// can compare canary and live predictions.
	Arms []string
	// Rand draws the sampling decision; it must be safe for concurrent
	// use. Default math/rand/v2.Uint64.
	Rand func() uint64 `json:"-"`
}

// Tap samples one route's traffic. It must not be copied.
type Tap struct {
	spec      RouteSpec
	set       *Set
	threshold uint64
	all       bool
	queue     chan *record
	state     atomic.Pointer[tapState]
	counts    *counts
	pool      sync.Pool
	stop      chan struct{}
	wg        sync.WaitGroup
}

var _ proxy.Sampler = (*Tap)(nil)

// counts are a Tap's counters. They outlive it: the Collector adds a
// retired Tap's counts to its successor's, so a config change neither
// resets the counters nor loses what was still queued.
type counts struct {
	rows    atomic.Uint64
	dropped [numDrops]atomic.Uint64
	invalid payload.InvalidCounters
	queued  atomic.Uint64 // copies put on the queue
	taken   atomic.Uint64 // copies a worker took off it
	halted  atomic.Bool   // no worker takes any more
}

type totals struct {
	rows    uint64
	dropped [numDrops]uint64
	invalid [payload.NumReasons]uint64
}

// addTo adds c to t. A retired Tap's copies that were queued and never
// taken are dropped as reconfigured.
func (c *counts) addTo(t *totals, retired bool) {
	t.rows += c.rows.Load()
	for i := range c.dropped {
		t.dropped[i] += c.dropped[i].Load()
	}
	if retired && c.halted.Load() {
		// taken is final; queued may still grow by a request that was
		// on its way when the Tap was replaced.
		if taken, queued := c.taken.Load(), c.queued.Load(); queued > taken {
			t.dropped[dropReconfigured] += queued - taken
		}
	}
	for r, n := range c.invalid.Load() {
		t.invalid[r] += n
	}
}

func (t *totals) add(o *totals) {
	t.rows += o.rows
	for i := range t.dropped {
		t.dropped[i] += o.dropped[i]
	}
	for i := range t.invalid {
		t.invalid[i] += o.invalid[i]
	}
}

type record struct {
	req, resp []byte
	ok        bool   // the response was 2xx, so it carries predictions
	pb        bool   // serialized ModelInfer messages, from gRPC
	arm       string // the arm that served it

	// binary tensor header lengths, or payload.JSONBody
	reqHdr, respHdr int
}

// tapState is the live state of a route and of each arm's predictions.
type tapState struct {
	route *sketch.State
	arms  []armState
}

type armState struct {
	arm string
	st  *sketch.State
}

func newTap(spec RouteSpec, set *Set) *Tap {
	t := &Tap{
		spec:   spec,
		set:    set,
		queue:  make(chan *record, spec.Queue),
		stop:   make(chan struct{}),
		counts: new(counts),
	}
	switch {
	case spec.Fraction >= 1:
		t.all = true
	case spec.Fraction > 0:
		t.threshold = uint64(spec.Fraction * math.MaxUint64)
	}
	if t.spec.Rand == nil {
		t.spec.Rand = rand.Uint64
	}
	t.pool.New = func() any { return new(record) }
	return t
}

// Sample copies the bodies of a sampled request and its response and
// queues them for decoding. It never blocks.
func (t *Tap) Sample(req *fasthttp.Request, resp *fasthttp.Response, arm string) {
	if !t.all && (t.threshold == 0 || t.spec.Rand() >= t.threshold) {
		return
	}
	reqBody, respBody := req.Body(), resp.Body()
	if len(reqBody) > t.spec.MaxBody || len(respBody) > t.spec.MaxBody {
		t.counts.dropped[dropBodyTooLarge].Add(1)
		return
	}
	rec := t.pool.Get().(*record)
	rec.req = append(rec.req[:0], reqBody...)
	rec.resp = append(rec.resp[:0], respBody...)
	rec.reqHdr = payload.ParseHeaderLength(req.Header.Peek(payload.BinaryHeader))
	rec.respHdr = payload.ParseHeaderLength(resp.Header.Peek(payload.BinaryHeader))
	status := resp.StatusCode()
	rec.ok = status >= 200 && status < 300
	rec.arm = arm
	rec.pb = false
	t.enqueue(rec)
}

// SampleModelInfer is Sample for the Open Inference protocol over gRPC:
// req is a serialized ModelInferRequest and resp its ModelInferResponse,
// nil when the call failed. It copies them and never blocks; the worker
// decodes them with DecodeModelInfer.
func (t *Tap) SampleModelInfer(req, resp []byte, arm string) {
	if !t.all && (t.threshold == 0 || t.spec.Rand() >= t.threshold) {
		return
	}
	if len(req) > t.spec.MaxBody || len(resp) > t.spec.MaxBody {
		t.counts.dropped[dropBodyTooLarge].Add(1)
		return
	}
	rec := t.pool.Get().(*record)
	rec.req = append(rec.req[:0], req...)
	rec.resp = append(rec.resp[:0], resp...)
	rec.reqHdr, rec.respHdr = payload.JSONBody, payload.JSONBody
	rec.ok = resp != nil
	rec.arm = arm
	rec.pb = true
	t.enqueue(rec)
}

func (t *Tap) enqueue(rec *record) {
	select {
	case t.queue <- rec:
		t.counts.queued.Add(1)
	default:
		t.counts.dropped[dropQueueFull].Add(1)
		t.recycle(rec)
	}
}

func (t *Tap) recycle(rec *record) {
	if cap(rec.req) > maxPooledBody || cap(rec.resp) > maxPooledBody {
		return
	}
	t.pool.Put(rec)
}

func (t *Tap) start() {
	for range t.spec.Workers {
		t.wg.Add(1)
		go t.work()
	}
}

func (t *Tap) work() {
	defer t.wg.Done()
	dec, err := payload.NewDecoder(t.spec.Protocol, t.set.model.Features, t.set.model.Prediction,
		payload.DecoderOptions{Counters: &t.counts.invalid})
	if err != nil {
		// The Set checked the specs with the same call before starting.
		panic("sampling: " + err.Error())
	}
	for {
		select {
		case <-t.stop:
			return
		case rec := <-t.queue:
			t.counts.taken.Add(1)
			t.decodeGuarded(dec, rec)
			t.recycle(rec)
		}
	}
}

// decodeGuarded is decode, surviving a panic on a hostile body.
func (t *Tap) decodeGuarded(dec *payload.Decoder, rec *record) {
	defer t.set.panics.Recover("sampler")
	t.decode(dec, rec)
}

func (t *Tap) decode(dec *payload.Decoder, rec *record) {
	resp := rec.resp
	if !rec.ok {
		resp = nil
	}
	var batch *payload.Batch
	var err error
	if rec.pb {
		batch, err = dec.DecodeModelInfer(rec.req, resp)
	} else {
		batch, err = dec.DecodeBinary(rec.req, rec.reqHdr, resp, rec.respHdr)
	}
	if err != nil {
		return // counted by reason in t.counts.invalid
	}
	t.counts.rows.Add(uint64(batch.Rows))
	ts := t.state.Load()
	if ts == nil {
		t.set.learn(batch)
		return
	}
	ts.route.Observe(batch)
	for i := range ts.arms {
		if ts.arms[i].arm != rec.arm {
			continue
		}
		for r := range min(batch.Rows, len(batch.Predictions)) {
			ts.arms[i].st.ObserveValue(0, &batch.Predictions[r])
		}
	}
}

// QueueLength is the number of copies waiting to be decoded.
func (t *Tap) QueueLength() int { return len(t.queue) }

// State returns the route's live state, or nil while the reference is
// being learned.
func (t *Tap) State() *sketch.State {
	if ts := t.state.Load(); ts != nil {
		return ts.route
	}
	return nil
}

// ArmPredictions returns the prediction-only state of arm, or nil when
// arms are not tracked (no prediction, one arm, or still learning).
func (t *Tap) ArmPredictions(arm string) *sketch.State {
	if ts := t.state.Load(); ts != nil {
		for _, a := range ts.arms {
			if a.arm == arm {
				return a.st
			}
		}
	}
	return nil
}

// halt stops the workers and frees the queued copies; they count as
// dropped (reconfigured) since no worker took them.
func (t *Tap) halt() {
	close(t.stop)
	t.wg.Wait()
	t.counts.halted.Store(true)
	for {
		select {
		case rec := <-t.queue:
			t.recycle(rec)
		default:
			return
		}
	}
}
