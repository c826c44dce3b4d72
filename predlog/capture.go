package predlog

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/driftcar/driftcar/internal/fraction"
	"github.com/driftcar/driftcar/internal/panics"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/poll"
	"github.com/driftcar/driftcar/proxy"
	"github.com/driftcar/driftcar/shadow"
)

// CaptureSink is the sink label of the requests the capture itself could
// not take (its queue, its join table); sink names cannot start with "_".
const CaptureSink = "_capture"

// Capture reasons, the reason label of driftcar_log_dropped_total with
// sink="_capture".
const (
	ReasonCaptureFull = "capture_queue_full"
	ReasonJoinFull    = "join_full"
	ReasonNoAnswer    = "no_shadow_answer"
)

// Defaults of CaptureOptions.
const (
	DefaultCaptureQueue = 4096
	DefaultShadowWait   = time.Minute
)

// CaptureRoute is what the capture knows of one route.
type CaptureRoute struct {
	Name     string
	Protocol payload.Protocol
	// Fraction of the route's requests logged, by request id.
	Fraction float64
	// Live is the route's first arm; the others are canaries.
	Live string
}

// CaptureOptions configure a Capture.
type CaptureOptions struct {
	Model  string
	Log    *Log // required
	Routes []CaptureRoute
	// Features and Prediction are the config's; Prediction may be nil.
	Features   []payload.FeatureSpec
	Prediction *payload.PredictionSpec
	// Errors logs every failed request (5xx, or a failed upstream call);
	// Mismatches every mirrored request whose shadow disagreed or failed.
	Errors, Mismatches bool
	// Bodies logs the bodies, each cut to MaxBody, through Redactor.
	Bodies   bool
	MaxBody  int
	Redactor *payload.Redactor
	// Headers are the request headers logged (canonical names).
	Headers []string
	// Queue bounds the requests waiting to be decoded. Default 4096.
	Queue int
	// ShadowWait bounds how long a mirrored request waits for its shadow's
	// answer; MaxPending bounds the requests and answers waiting to be
	// joined (default 2·Queue).
	ShadowWait time.Duration
	MaxPending int
	Logger     *zap.Logger
	Panics     *panics.Counter
	// Now is the clock of the join's expiry. Default time.Now.
	Now func() time.Time
}

// Capture is the prediction log's front: the routes' Recorder taps copy
// what they log onto a bounded queue; one worker decodes features and
// predictions into records, joins mirrored requests with their shadow's
// answer, and offers the records to the Log. It must not be copied.
type Capture struct {
	opts    CaptureOptions
	routes  map[string]*routeCapture
	queue   chan *capture
	pool    sync.Pool
	dropped [3]prometheus.Counter // queue full, join full, no answer
	join    *joinTable
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

var _ shadow.Answers = (*Capture)(nil)

// routeCapture is one route's Recorder.
type routeCapture struct {
	c     *Capture
	route CaptureRoute
	share fraction.Fraction
}

var _ proxy.Recorder = (*routeCapture)(nil)

// capture is one request taken on the request path.
type capture struct {
	route      *routeCapture
	requestID  []byte
	ex         proxy.Exchange
	status     int
	chosen     bool // by fraction or as an error: logged whatever the shadow says
	req, resp  []byte
	reqCut     bool
	respCut    bool
	reqHdr     int
	respHdr    int
	headers    [][]byte // values, in opts.Headers order; nil when absent
	enqueuedAt time.Time
}

// NewCapture starts a Capture's worker.
func NewCapture(opts CaptureOptions) (*Capture, error) {
	c, decoders, err := newCapture(opts)
	if err != nil {
		return nil, err
	}
	opts.Log.metrics.queues.setCapture(c)
	go c.work(decoders)
	return c, nil
}

// newCapture builds a Capture without starting its worker.
func newCapture(opts CaptureOptions) (*Capture, map[payload.Protocol]*decoders, error) {
	if opts.Log == nil {
		return nil, nil, errors.New("predlog: CaptureOptions.Log is required")
	}
	if opts.Queue <= 0 {
		opts.Queue = DefaultCaptureQueue
	}
	if opts.ShadowWait <= 0 {
		opts.ShadowWait = DefaultShadowWait
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 2 * opts.Queue
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Capture{
		opts:   opts,
		routes: map[string]*routeCapture{},
		queue:  make(chan *capture, opts.Queue),
		join:   newJoinTable(opts.MaxPending),
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	for i, reason := range []string{ReasonCaptureFull, ReasonJoinFull, ReasonNoAnswer} {
		c.dropped[i] = opts.Log.metrics.dropped.WithLabelValues(CaptureSink, reason)
	}
	c.pool.New = func() any { return &capture{headers: make([][]byte, len(opts.Headers))} }
	decoders := map[payload.Protocol]*decoders{}
	for _, r := range opts.Routes {
		c.routes[r.Name] = &routeCapture{c: c, route: r, share: fraction.New(r.Fraction)}
		if decoders[r.Protocol] != nil {
			continue
		}
		d, err := newDecoders(r.Protocol, opts.Features, opts.Prediction)
		if err != nil {
			return nil, nil, err
		}
		decoders[r.Protocol] = d
	}
	return c, decoders, nil
}

// Route returns the Recorder tap of a route, or nil for a route the
// Capture does not log.
func (c *Capture) Route(name string) proxy.Recorder {
	if r := c.routes[name]; r != nil {
		return r
	}
	return nil
}

// wanted reports whether a request is taken: by the route's share, as a
// failure, or, when mirrored, to learn whether its shadow disagreed.
func (r *routeCapture) wanted(id []byte, liveStatus int, failed, mirrored bool) (take, chosen bool) {
	o := &r.c.opts
	chosen = r.share.Has(id) || o.Errors && (failed || liveStatus >= 500)
	return chosen || mirrored && o.Mismatches, chosen
}

// Record copies a request the log wants and queues it. It never blocks.
func (r *routeCapture) Record(req *fasthttp.Request, resp *fasthttp.Response, ex proxy.Exchange) {
	status := resp.StatusCode()
	take, chosen := r.wanted(ex.RequestID, status, ex.Failure != "", ex.Mirrored)
	if !take {
		return
	}
	c := r.c
	if c.opts.Log.Saturated() {
		// Every sink would drop it: count it as theirs, and spare the
		// copy and the decoding. (A request held only to learn of a
		// mismatch is not counted: it may never have been logged.)
		if chosen {
			c.opts.Log.DropSaturated()
		}
		return
	}
	cp := c.pool.Get().(*capture)
	cp.route, cp.ex, cp.status, cp.chosen = r, ex, status, chosen
	cp.requestID = append(cp.requestID[:0], ex.RequestID...)
	cp.ex.RequestID = nil
	max := c.opts.MaxBody
	body := req.Body()
	cp.reqCut = len(body) > max
	cp.req = append(cp.req[:0], body[:min(len(body), max)]...)
	body = resp.Body()
	cp.respCut = len(body) > max
	cp.resp = append(cp.resp[:0], body[:min(len(body), max)]...)
	cp.reqHdr, cp.respHdr = payload.JSONBody, payload.JSONBody
	if r.route.Protocol.Tensors() { // only the tensor protocols have binary bodies
		cp.reqHdr = payload.ParseHeaderLength(req.Header.Peek(payload.BinaryHeader))
		cp.respHdr = payload.ParseHeaderLength(resp.Header.Peek(payload.BinaryHeader))
	}
	for i, name := range c.opts.Headers {
		if v := req.Header.Peek(name); v != nil {
			cp.headers[i] = append(cp.headers[i][:0], v...)
		} else {
			cp.headers[i] = cp.headers[i][:0:0]
		}
	}
	select {
	case c.queue <- cp:
		if len(c.queue) >= cap(c.queue)/4 {
			poll.Wake(c.wake)
		}
	default:
		c.dropped[0].Inc()
		c.recycle(cp)
	}
}

const maxPooledCapture = 256 << 10

func (c *Capture) recycle(cp *capture) {
	if cap(cp.req) > maxPooledCapture || cap(cp.resp) > maxPooledCapture {
		return
	}
	cp.route = nil
	c.pool.Put(cp)
}

// ShadowAnswer joins a shadow's answer with its request's record. It runs
// on the shadow's worker and never blocks for long: one lock of the join
// table.
func (c *Capture) ShadowAnswer(a *shadow.Answer) {
	r := c.routes[a.Route]
	if r == nil {
		return
	}
	// An unknown live status (0) counts as failed: the capture may have
	// taken the request as an error.
	if take, _ := r.wanted(a.RequestID, a.LiveStatus, a.LiveStatus == 0, true); !take {
		return // the capture never took this request
	}
	ans := answerOf(a)
	if rec, chosen, ok := c.join.answer(string(a.RequestID), ans, c.opts.Now()); ok {
		c.finish(rec, chosen, &ans)
	}
}

// Stop stops the worker after it has offered what it holds; records still
// waiting for a shadow answer are offered without one.
func (c *Capture) Stop() {
	close(c.stop)
	<-c.done
	c.opts.Log.metrics.queues.clearCapture(c)
}

// work decodes what the request path queued, polling (package poll), and
// expires the join's entries every second; once stopped it offers what
// it holds.
func (c *Capture) work(decoders map[payload.Protocol]*decoders) {
	defer close(c.done)
	lastExpire := c.opts.Now()
	poll.Run(c.stop, c.wake, func() int {
		n := 0
	drain:
		for {
			select {
			case cp := <-c.queue:
				c.takeGuarded(decoders, cp)
				n++
			default:
				break drain
			}
		}
		if now := c.opts.Now(); now.Sub(lastExpire) >= time.Second {
			c.expire(now.Add(-c.opts.ShadowWait))
			lastExpire = now
		}
		return n
	})
	c.expire(time.Time{})
}

func (c *Capture) takeGuarded(decoders map[payload.Protocol]*decoders, cp *capture) {
	defer c.recycle(cp)
	defer c.opts.Panics.Recover("log")
	c.take(decoders[cp.route.route.Protocol], cp)
}

// take builds the record of cp and offers it, or, for a mirrored
// request, holds it for its shadow's answer.
func (c *Capture) take(d *decoders, cp *capture) {
	rec := c.opts.Log.Acquire()
	c.fill(d, cp, rec)
	if !cp.ex.Mirrored {
		c.opts.Log.Offer(rec)
		return
	}
	switch a, held := c.join.record(string(cp.requestID), rec, cp.chosen, c.opts.Now()); {
	case a != nil:
		c.finish(rec, cp.chosen, a)
	case !held && cp.chosen:
		// Logged without its shadow's side rather than lost.
		rec.Shadow.Mirrored, rec.Shadow.Outcome = true, "not_joined"
		c.opts.Log.Offer(rec)
	case !held:
		c.dropped[1].Inc() // held only to learn of a mismatch
		c.opts.Log.Release(rec)
	}
}

// finish completes a record with its shadow's answer and offers it if it
// is chosen or the shadow disagreed.
func (c *Capture) finish(rec *Record, chosen bool, a *answer) {
	rec.Shadow.Mirrored, rec.Shadow.Status = true, a.status
	rec.Shadow.Outcome = a.outcome
	for i := range a.preds {
		v := rec.Shadow.AddPrediction()
		*v = Value{Kind: a.preds[i].Kind, Num: a.preds[i].Num, Str: append(v.Str[:0], a.preds[i].Str...)}
	}
	if chosen || c.opts.Mismatches && a.outcome != "match" {
		c.opts.Log.Offer(rec)
		return
	}
	c.opts.Log.Release(rec)
}

// expire offers the chosen records whose answer did not come by before
// (all of them for a zero before) and forgets stale answers.
func (c *Capture) expire(before time.Time) {
	for _, e := range c.join.expire(before) {
		if !e.chosen {
			c.dropped[2].Inc() // held only to learn of a mismatch
			c.opts.Log.Release(e.rec)
			continue
		}
		e.rec.Shadow.Mirrored, e.rec.Shadow.Outcome = true, "no_answer"
		c.opts.Log.Offer(e.rec)
	}
}

// fill decodes cp into rec.
func (c *Capture) fill(d *decoders, cp *capture, rec *Record) {
	o := &c.opts
	rt := cp.route.route
	rec.RequestID = string(cp.requestID)
	rec.Time, rec.Model, rec.Route, rec.Arm = cp.ex.Start, o.Model, rt.Name, cp.ex.Arm
	rec.Canary = cp.ex.Arm != rt.Live
	rec.Status, rec.LatencySeconds, rec.Error = cp.status, cp.ex.Duration.Seconds(), cp.ex.Failure
	ok := cp.status >= 200 && cp.status <= 299 && cp.ex.Failure == ""
	d.fill(rec, cp, ok, o.Features)
	if o.Bodies {
		c.setBody(cp.req, cp.reqHdr, rec.SetRequestBody)
		if ok {
			c.setBody(cp.resp, cp.respHdr, rec.SetResponseBody)
		}
	}
	for i, name := range o.Headers {
		if len(cp.headers[i]) > 0 {
			rec.AddHeader(name, cp.headers[i])
		}
	}
}

// setBody stores a body through the redactor; a body it cannot redact is
// left out.
func (c *Capture) setBody(body []byte, hdrLen int, set func([]byte)) {
	if hdrLen != payload.JSONBody && hdrLen >= 0 && hdrLen <= len(body) {
		body = body[:hdrLen] // the JSON header of a binary tensor body
	}
	if c.opts.Redactor.Empty() {
		set(body)
		return
	}
	if out, err := c.opts.Redactor.Apply(body); err == nil {
		set(out)
	}
}

// decoders read one protocol's features and predictions. Owned by the
// worker.
type decoders struct {
	features *payload.Decoder
	preds    *payload.ResponseDecoder
}

func newDecoders(proto payload.Protocol, features []payload.FeatureSpec, pred *payload.PredictionSpec) (*decoders, error) {
	fd, err := payload.NewDecoder(proto, features, nil, payload.DecoderOptions{})
	if err != nil {
		return nil, err
	}
	spec := payload.PredictionSpec{}
	if pred != nil {
		spec = *pred
	}
	pd, err := payload.NewResponseDecoder(proto, spec, payload.DecoderOptions{})
	if err != nil {
		return nil, err
	}
	return &decoders{features: fd, preds: pd}, nil
}

func (d *decoders) fill(rec *Record, cp *capture, ok bool, features []payload.FeatureSpec) {
	if b, err := d.features.DecodeBinary(cp.req, cp.reqHdr, nil, payload.JSONBody); err == nil {
		for i := range b.Rows {
			row := rec.AddRow()
			for j, v := range b.Row(i) {
				row.Add(features[j].Name).SetPayload(v)
			}
		}
	}
	if !ok {
		return
	}
	preds, err := d.preds.DecodeBinary(cp.resp, cp.respHdr)
	if err != nil {
		return
	}
	for i := range preds {
		setPrediction(rec.AddPrediction(), &preds[i])
	}
}

// setPrediction logs a prediction as a number (numbers, booleans, the
// argmax class of scores) or a string (labels, generated text).
func setPrediction(dst *Value, p *payload.Prediction) {
	switch p.Kind {
	case payload.PredictionNumber, payload.PredictionBool:
		dst.SetNumber(p.Num)
	case payload.PredictionScores:
		dst.SetNumber(float64(p.Class))
	case payload.PredictionLabel:
		dst.SetString(p.Text)
	case payload.PredictionCompletion:
		dst.SetString(p.Content)
	default:
		dst.SetNull()
	}
}

// answer is a copy of a shadow.Answer, kept past its call.
type answer struct {
	status  int
	outcome string
	preds   []Value
}

func answerOf(a *shadow.Answer) answer {
	out := answer{status: a.Status, outcome: a.Outcome}
	if a.Failure != "" {
		out.outcome = "shadow_" + a.Failure
	}
	for i := range a.Predictions {
		var v Value
		setPrediction(&v, &a.Predictions[i])
		out.preds = append(out.preds, v)
	}
	return out
}

// joinTable pairs the records of mirrored requests with their shadow's
// answers, whichever comes first, in at most max entries.
type joinTable struct {
	mu      sync.Mutex
	max     int
	entries map[string]*joinEntry
}

type joinEntry struct {
	rec    *Record
	chosen bool
	ans    *answer
	at     time.Time
}

func newJoinTable(max int) *joinTable {
	return &joinTable{max: max, entries: map[string]*joinEntry{}}
}

// record adds a record; it returns the answer already waiting, or held
// false when the table is full.
func (j *joinTable) record(id string, rec *Record, chosen bool, now time.Time) (a *answer, held bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if e := j.entries[id]; e != nil && e.ans != nil {
		delete(j.entries, id)
		return e.ans, true
	}
	if len(j.entries) >= j.max {
		return nil, false
	}
	j.entries[id] = &joinEntry{rec: rec, chosen: chosen, at: now}
	return nil, true
}

// answer adds an answer; it returns the record already waiting. An
// answer that finds a full table is forgotten.
func (j *joinTable) answer(id string, a answer, now time.Time) (rec *Record, chosen, ok bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if e := j.entries[id]; e != nil && e.rec != nil {
		delete(j.entries, id)
		return e.rec, e.chosen, true
	}
	if len(j.entries) < j.max {
		j.entries[id] = &joinEntry{ans: &a, at: now}
	}
	return nil, false, false
}

// held is the requests queued and the records waiting for their shadow.
func (c *Capture) held() int { return len(c.queue) + c.join.len() }

func (j *joinTable) len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.entries)
}

// expire removes the entries added before before (every entry for a
// zero before) and returns those that hold a record.
func (j *joinTable) expire(before time.Time) []*joinEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*joinEntry
	for id, e := range j.entries {
		if !before.IsZero() && !e.at.Before(before) {
			continue
		}
		delete(j.entries, id)
		if e.rec != nil {
			out = append(out, e)
		}
	}
	return out
}
