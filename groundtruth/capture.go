package groundtruth

import (
	"errors"
	"math"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/driftcar/driftcar/groundtruth/perf"
	"github.com/driftcar/driftcar/grpcproxy"
	"github.com/driftcar/driftcar/internal/panics"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/poll"
	"github.com/driftcar/driftcar/proxy"
	"github.com/driftcar/driftcar/shadow"
)

// Defaults of CaptureOptions.
const (
	DefaultQueue      = 4096
	DefaultAnswerBody = 1 << 20
)

// CaptureRoute is what the capture knows of one route.
type CaptureRoute struct {
	Name     string
	Protocol payload.Protocol
	// Arms are the route's arms, live first; Shadow is its shadow's
	// upstream, "" without one.
	Arms   []string
	Shadow string
}

// CaptureOptions configure a Capture.
type CaptureOptions struct {
	Table      *Table // required
	Spec       perf.Spec
	Routes     []CaptureRoute
	Prediction *payload.PredictionSpec
	// MaxBody bounds the answer copied for decoding; a larger answer is
	// not joined (counted). Queue bounds the answers waiting to be
	// decoded.
	MaxBody, Queue int
	Registerer     prometheus.Registerer
	Logger         *zap.Logger
	Panics         *panics.Counter
}

// Capture is the join's front: the routes' Recorder taps copy every 2xx
// answer onto a bounded queue, one worker decodes the predictions and
// stores them in the Table; the shadow's answers are stored as they come.
// It must not be copied.
type Capture struct {
	opts    CaptureOptions
	routes  map[string]*routeCapture
	queue   chan *answer
	wake    chan struct{}
	wakeAt  int
	pool    sync.Pool
	dropped *prometheus.CounterVec
	full    prometheus.Counter
	tooBig  prometheus.Counter
	stored  *prometheus.CounterVec
	live    prometheus.Counter
	shadows prometheus.Counter
	stop    chan struct{}
	done    chan struct{}
}

var _ shadow.Answers = (*Capture)(nil)

type routeCapture struct {
	c     *Capture
	index uint8
	route CaptureRoute
	arms  map[string]uint8
	preds *payload.ResponseDecoder // owned by the worker
}

var _ proxy.Recorder = (*routeCapture)(nil)

// answer is one live answer taken on the request path.
type answer struct {
	route     *routeCapture
	arm       uint8
	requestID []byte
	body      []byte
	hdrLen    int
	pb        bool // body is a serialized ModelInferResponse
}

// Capture drop reasons, the reason label of driftcar_ground_truth_dropped_total.
const (
	DropQueueFull  = "queue_full"
	DropBodyTooBig = "body_too_large"
)

// NewCapture starts a Capture's worker. The routes are indexed in order,
// as the Table stores them; at most 255 routes and 255 arms each.
func NewCapture(opts CaptureOptions) (*Capture, error) {
	if opts.Table == nil {
		return nil, errors.New("groundtruth: CaptureOptions.Table is required")
	}
	if len(opts.Routes) > math.MaxUint8 {
		return nil, errors.New("groundtruth: more than 255 routes")
	}
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultAnswerBody
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	c := &Capture{
		opts:   opts,
		routes: map[string]*routeCapture{},
		queue:  make(chan *answer, opts.Queue),
		wake:   make(chan struct{}, 1),
		wakeAt: max(1, opts.Queue/4),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftcar_ground_truth_dropped_total",
			Help: "Answers the ground-truth join did not take, by reason.",
		}, []string{"reason"}),
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftcar_ground_truth_predictions_total",
			Help: "Prediction rows stored in the join table, by side (live: the arm that served; shadow).",
		}, []string{"side"}),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	c.full, c.tooBig = c.dropped.WithLabelValues(DropQueueFull), c.dropped.WithLabelValues(DropBodyTooBig)
	c.live, c.shadows = c.stored.WithLabelValues("live"), c.stored.WithLabelValues("shadow")
	c.pool.New = func() any { return new(answer) }
	spec := payload.PredictionSpec{}
	if opts.Prediction != nil {
		spec = *opts.Prediction
	}
	for i, r := range opts.Routes {
		if len(r.Arms) > math.MaxUint8 {
			return nil, errors.New("groundtruth: route " + r.Name + " has more than 255 arms")
		}
		pd, err := payload.NewResponseDecoder(r.Protocol, spec, payload.DecoderOptions{})
		if err != nil {
			return nil, err
		}
		rc := &routeCapture{c: c, index: uint8(i), route: r, arms: map[string]uint8{}, preds: pd}
		for j, a := range r.Arms {
			rc.arms[a] = uint8(j)
		}
		c.routes[r.Name] = rc
	}
	if opts.Registerer != nil {
		for _, m := range []prometheus.Collector{c.dropped, c.stored} {
			if err := opts.Registerer.Register(m); err != nil {
				return nil, err
			}
		}
	}
	go c.work()
	return c, nil
}

// Route returns the Recorder tap of a route, or nil for a route the
// capture does not join.
func (c *Capture) Route(name string) proxy.Recorder {
	if r := c.routes[name]; r != nil {
		return r
	}
	return nil
}

// Record copies a 2xx answer and queues it. It never blocks.
func (r *routeCapture) Record(_ *fasthttp.Request, resp *fasthttp.Response, ex proxy.Exchange) {
	if st := resp.StatusCode(); st < 200 || st > 299 || ex.Failure != "" || len(ex.RequestID) == 0 {
		return
	}
	arm, ok := r.arms[ex.Arm]
	if !ok {
		return
	}
	c := r.c
	body := resp.Body()
	if len(body) > c.opts.MaxBody {
		c.tooBig.Inc()
		return
	}
	a := c.pool.Get().(*answer)
	a.route, a.arm = r, arm
	a.requestID = append(a.requestID[:0], ex.RequestID...)
	a.body = append(a.body[:0], body...)
	a.hdrLen, a.pb = payload.JSONBody, false
	if r.route.Protocol.Tensors() {
		a.hdrLen = payload.ParseHeaderLength(resp.Header.Peek(payload.BinaryHeader))
	}
	c.enqueue(a)
}

// enqueue queues a without blocking, or drops and counts it; a queue a
// quarter full wakes the worker (see poll.Wake).
func (c *Capture) enqueue(a *answer) {
	select {
	case c.queue <- a:
		if len(c.queue) >= c.wakeAt {
			poll.Wake(c.wake)
		}
	default:
		c.full.Inc()
		c.recycle(a)
	}
}

// GRPCTap returns the tap of a route's gRPC calls, or nil for a route the
// capture does not join: each unary ModelInfer answered OK whose request
// carries an id (its id field, else x-request-id) is queued as Record
// queues an HTTP answer.
func (c *Capture) GRPCTap(route string) grpcproxy.Tap {
	if r := c.routes[route]; r != nil {
		return grpcTap{r}
	}
	return nil
}

type grpcTap struct{ r *routeCapture }

const modelInfer = "/ModelInfer"

func (g grpcTap) Call(call *grpcproxy.Call) {
	r, c := g.r, g.r.c
	if call.Code != codes.OK || call.Requests != 1 || call.Responses != 1 || !strings.HasSuffix(call.Method, modelInfer) {
		return
	}
	arm, ok := r.arms[call.Arm]
	if !ok {
		return
	}
	id, ok := payload.ModelInferID(call.Request)
	if !ok {
		v := call.Metadata.Get("x-request-id")
		if v == "" {
			return
		}
		id = []byte(v)
	}
	if len(call.Response) > c.opts.MaxBody {
		c.tooBig.Inc()
		return
	}
	a := c.pool.Get().(*answer)
	a.route, a.arm, a.hdrLen, a.pb = r, arm, payload.JSONBody, true
	a.requestID = append(a.requestID[:0], id...)
	a.body = append(a.body[:0], call.Response...)
	c.enqueue(a)
}

const maxPooledBody = 256 << 10

func (c *Capture) recycle(a *answer) {
	if cap(a.body) > maxPooledBody {
		return
	}
	a.route = nil
	c.pool.Put(a)
}

// ShadowAnswer stores a shadow's predictions. It runs on the shadow's
// worker and takes one lock of the table.
func (c *Capture) ShadowAnswer(a *shadow.Answer) {
	r := c.routes[a.Route]
	if r == nil || a.Status < 200 || a.Status > 299 || len(a.Predictions) == 0 {
		return
	}
	var buf [16]Pred
	preds := buf[:0]
	for i := range a.Predictions {
		preds = append(preds, predOf(&c.opts.Spec, &a.Predictions[i]))
	}
	c.opts.Table.PutShadow(a.RequestID, r.index, preds)
	c.shadows.Add(float64(len(preds)))
}

// Stop stops the worker after it has stored what is queued.
func (c *Capture) Stop() {
	close(c.stop)
	<-c.done
	if c.opts.Registerer != nil {
		c.opts.Registerer.Unregister(c.dropped)
		c.opts.Registerer.Unregister(c.stored)
	}
}

func (c *Capture) work() {
	defer close(c.done)
	var preds []Pred
	poll.Run(c.stop, c.wake, func() int {
		n := 0
		for {
			select {
			case a := <-c.queue:
				preds = c.take(a, preds[:0])
				n++
			default:
				return n
			}
		}
	})
}

// take decodes one answer's predictions into the table.
func (c *Capture) take(a *answer, preds []Pred) []Pred {
	defer c.recycle(a)
	defer c.opts.Panics.Recover("ground_truth")
	var got []payload.Prediction
	var err error
	if a.pb {
		got, err = a.route.preds.DecodeModelInfer(a.body)
	} else {
		got, err = a.route.preds.DecodeBinary(a.body, a.hdrLen)
	}
	if err != nil || len(got) == 0 {
		return preds
	}
	for i := range got {
		preds = append(preds, predOf(&c.opts.Spec, &got[i]))
	}
	c.opts.Table.PutLive(a.requestID, a.route.index, a.arm, preds)
	c.live.Add(float64(len(preds)))
	return preds
}

// predOf maps a decoded prediction to what the join keeps: the class
// (binary 0/1, categorical index, len(Classes) for an unknown label) or
// the value, and the positive score of a binary model (NaN when none).
// A two-class score vector gives the positive score as the argmax's
// score or its complement.
func predOf(s *perf.Spec, p *payload.Prediction) Pred {
	nan := math.NaN()
	switch s.Kind {
	case perf.Binary:
		switch p.Kind {
		case payload.PredictionNumber:
			return Pred{Predicted: s.Predicted(p.Num), Score: p.Num}
		case payload.PredictionBool:
			return Pred{Predicted: p.Num, Score: nan}
		case payload.PredictionScores:
			score := p.Num
			if p.Class == 0 {
				score = 1 - p.Num
			}
			return Pred{Predicted: s.Predicted(score), Score: score}
		case payload.PredictionLabel:
			return Pred{Predicted: float64(s.ClassIndex(string(p.Text))), Score: nan}
		}
	case perf.Categorical:
		switch p.Kind {
		case payload.PredictionScores:
			return Pred{Predicted: float64(min(p.Class, len(s.Classes))), Score: nan}
		case payload.PredictionLabel:
			return Pred{Predicted: float64(s.ClassIndex(string(p.Text))), Score: nan}
		case payload.PredictionNumber:
			if k := p.Num; k >= 0 && k < float64(len(s.Classes)) && k == math.Trunc(k) {
				return Pred{Predicted: k, Score: nan}
			}
			return Pred{Predicted: float64(len(s.Classes)), Score: nan}
		}
	case perf.Numeric:
		if p.Kind == payload.PredictionNumber {
			return Pred{Predicted: p.Num, Score: nan}
		}
	}
	return Pred{Predicted: nan, Score: nan}
}
