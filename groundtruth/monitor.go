package groundtruth

import (
	"errors"
	"math"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/driftcar/driftcar/detector/stat"
	"github.com/driftcar/driftcar/groundtruth/perf"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// Roles of an arm.
const (
	RoleLive   = "live"
	RoleCanary = "canary"
	RoleShadow = "shadow"
)

// SLA is a plain floor or ceiling of a window's performance; nil fields
// are off.
type SLA struct {
	MinAccuracy, MaxRMSE, MaxMAE *float64
}

// Event kinds.
const (
	EventPromotion   = "promotion"
	EventPerformance = "performance_drift"
	EventSLA         = "sla_breach"
)

// Event is a change the Monitor reports through Notify.
type Event struct {
	Kind  string
	Route string
	Arm   string
	At    time.Time
	// Verdict is set for a promotion; Paired says it compared the shadow
	// with live on the same requests.
	Verdict *perf.VerdictResult
	Paired  bool
	// Window, Metric, Value and Limit describe a drift or an SLA breach.
	Window       string
	Metric       string
	Value, Limit float64
	Reference    float64
	PValue       float64
}

// MonitorOptions configure a Monitor.
type MonitorOptions struct {
	Spec   perf.Spec
	Routes []CaptureRoute
	// Calibrator holds the drift windows, slice, tick and false-alarm
	// rate; the performance tests use them. Required.
	Calibrator *stat.Calibrator
	// Reference returns a route's reference performance, nil when the
	// reference has none; the first ReferenceRows labelled live rows then
	// set it. Nil means none.
	Reference     func(route string) *sketch.PerformanceProfile
	ReferenceRows int
	Verdict       perf.VerdictOptions
	SLA           SLA
	// Notify, when set, is called on the ticking goroutine and must not
	// block.
	Notify func(Event)
	Now    func() time.Time
	Logger *zap.Logger
}

// DefaultReferenceRows is the labelled live rows that set a reference
// when the profile has none.
const DefaultReferenceRows = 1000

// Monitor turns joined labels into per-arm performance per window, tests
// each window against the reference, judges the challengers and exports
// it all. Join runs on the labelling goroutines, Tick on one ticker.
type Monitor struct {
	opts    MonitorOptions
	spec    perf.Spec
	windows []int // in slices
	names   []string
	log     *zap.Logger

	mu        sync.Mutex // guards everything below
	routes    []*routeMon
	sliceEnd  time.Time
	lastTick  time.Time
	evaluated uint64
}

type routeMon struct {
	name   string
	arms   []*armMon // the route's arms in order, then the shadow
	shadow *armMon
	pairs  *perf.PairRing // shadow against the live arm on the same rows
	pairW  perf.PairCounts

	ref      *stat.PerformanceReference
	refFrom  string // "profile" or "live"
	refValue float64
	first    *perf.Counts // the first labelled live rows, until ref is set
	firstAt  time.Time    // when the first of them came
	firstAbs []float64    // and their absolute errors (numeric)
	edges    []float64    // the reference's |error| edges (numeric)
	failed   string       // why no performance test runs
}

type armMon struct {
	name, role string
	ring       *perf.Ring
	total      *perf.Counts // since start, for the counters
	absHist    []uint64     // |error| counts per absErrorBuckets bucket, +Inf last
	over       float64      // Σ(prediction − label) where positive
	under      float64      // Σ(label − prediction) where positive
	absRing    *stat.SliceRing
	win        []*perf.Counts
	metrics    []perf.Metrics
	test       *stat.Performance
	eval       *stat.Evaluation
	since      time.Time
	sla        map[string]bool // metric → breached
	verdict    perf.VerdictResult
	hasVerdict bool
}

// absErrorBuckets are the upper bounds of driftcar_prediction_abs_error.
var absErrorBuckets = []float64{0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 1000}

// NewMonitor returns a monitor of opts.Routes.
func NewMonitor(opts MonitorOptions) (*Monitor, error) {
	if opts.Calibrator == nil {
		return nil, errors.New("groundtruth: MonitorOptions.Calibrator is required")
	}
	spec, err := opts.Spec.WithDefaults()
	if err != nil {
		return nil, err
	}
	if opts.Verdict, err = opts.Verdict.WithDefaults(); err != nil {
		return nil, err
	}
	if opts.ReferenceRows <= 0 {
		opts.ReferenceRows = DefaultReferenceRows
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	do := opts.Calibrator.Options()
	m := &Monitor{opts: opts, spec: spec, log: opts.Logger}
	longest := 0
	for _, w := range do.Windows {
		k := int(w / do.Slice)
		m.windows = append(m.windows, k)
		m.names = append(m.names, stat.WindowLabel(w))
		longest = max(longest, k)
	}
	for _, r := range opts.Routes {
		rm := &routeMon{name: r.Name, first: perf.NewCounts(&m.spec)}
		for j, a := range r.Arms {
			role := RoleCanary
			if j == 0 {
				role = RoleLive
			}
			rm.arms = append(rm.arms, m.newArm(a, role, longest))
		}
		if r.Shadow != "" {
			rm.shadow = m.newArm(r.Shadow, RoleShadow, longest)
			rm.arms = append(rm.arms, rm.shadow)
			rm.pairs = perf.NewPairRing(longest)
		}
		m.routes = append(m.routes, rm)
	}
	m.sliceEnd = opts.Now().Add(do.Slice)
	return m, nil
}

func (m *Monitor) newArm(name, role string, slices int) *armMon {
	a := &armMon{name: name, role: role, ring: perf.NewRing(&m.spec, slices), total: perf.NewCounts(&m.spec), sla: map[string]bool{}}
	if m.spec.Kind == perf.Numeric {
		a.absHist = make([]uint64, len(absErrorBuckets)+1)
	}
	for range m.windows {
		a.win = append(a.win, perf.NewCounts(&m.spec))
		a.metrics = append(a.metrics, a.win[len(a.win)-1].Metrics()) // undefined until the first tick
	}
	return a
}

// Join counts one joined label: for the arm that served the row, for the
// shadow when it answered, and for the pair when both did on the live arm.
func (m *Monitor) Join(e *Entry, actual float64, _ time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if int(e.Route) >= len(m.routes) {
		return
	}
	r := m.routes[e.Route]
	var live perf.Outcome
	if e.HasLive && int(e.Arm) < len(r.arms) && r.arms[e.Arm] != r.shadow {
		live = perf.Outcome{Actual: actual, Predicted: e.Live.Predicted, Score: e.Live.Score}
		r.arms[e.Arm].add(live, r.edges)
		if e.Arm == 0 && r.ref == nil && r.failed == "" {
			if r.first.N() == 0 {
				r.firstAt = m.opts.Now()
			}
			r.first.Add(live)
			if m.spec.Kind == perf.Numeric && len(r.firstAbs) < m.opts.ReferenceRows && !math.IsNaN(live.Predicted) {
				r.firstAbs = append(r.firstAbs, math.Abs(live.Predicted-actual))
			}
		}
	}
	if e.HasShadow && r.shadow != nil {
		sh := perf.Outcome{Actual: actual, Predicted: e.Shadow.Predicted, Score: e.Shadow.Score}
		r.shadow.add(sh, r.edges)
		if e.HasLive && e.Arm == 0 {
			r.pairs.Add(&m.spec, live, sh)
		}
	}
}

func (a *armMon) add(o perf.Outcome, edges []float64) {
	a.ring.Add(o)
	a.total.Add(o)
	if a.absHist == nil || math.IsNaN(o.Predicted) || math.IsNaN(o.Actual) {
		return
	}
	d := o.Predicted - o.Actual
	if d > 0 {
		a.over += d
	} else {
		a.under -= d
	}
	e := math.Abs(d)
	a.absHist[bucketOf(absErrorBuckets, e)]++
	if a.absRing != nil {
		a.absRing.Tick()[bucketOf(edges, e)]++
	}
}

// bucketOf is the index of the first bound ≥ x, len(bounds) past them.
func bucketOf(bounds []float64, x float64) int {
	i, _ := slices.BinarySearch(bounds, x)
	return i
}

// Tick rotates the slices that ended, computes every window and runs the
// tests and verdicts; it builds a route's performance tests once its
// reference is known.
func (m *Monitor) Tick(now time.Time) {
	m.prepare()
	m.mu.Lock()
	defer m.mu.Unlock()
	slice := m.opts.Calibrator.Options().Slice
	for n := 0; !now.Before(m.sliceEnd); n++ {
		if n < slices.Max(m.windows) {
			m.rotate()
		}
		m.sliceEnd = m.sliceEnd.Add(slice)
	}
	m.lastTick = now
	m.evaluated++
	var events []Event
	for _, r := range m.routes {
		events = m.evaluate(r, now, events)
	}
	if m.opts.Notify != nil {
		for _, ev := range events {
			m.opts.Notify(ev)
		}
	}
}

func (m *Monitor) rotate() {
	for _, r := range m.routes {
		for _, a := range r.arms {
			a.ring.Rotate()
			if a.absRing != nil {
				a.absRing.Flush()
				a.absRing.Rotate()
			}
		}
		if r.pairs != nil {
			r.pairs.Rotate()
		}
	}
}

// prepare builds the performance tests of the routes whose reference has
// become known, outside the lock: the first calibration takes seconds.
func (m *Monitor) prepare() {
	type job struct {
		r     *routeMon
		ref   stat.PerformanceReference
		src   string
		val   float64
		rates []float64 // labels per second of each arm
	}
	var jobs []job
	m.mu.Lock()
	now := m.opts.Now()
	for _, r := range m.routes {
		// The tests are calibrated for the label rate each arm sees, so
		// they wait for ReferenceRows labelled live rows in any case.
		if r.ref != nil || r.failed != "" || r.first.N() < uint64(m.opts.ReferenceRows) {
			continue
		}
		j := job{r: r, src: "profile"}
		var ok bool
		if j.ref, j.val, ok = m.profileReference(r.name); !ok {
			j.ref, j.val = m.liveReference(r)
			j.src = "live"
		}
		elapsed := max(now.Sub(r.firstAt).Seconds(), 1)
		for _, a := range r.arms {
			n := a.total.N()
			if n == 0 {
				n = r.first.N()
			}
			j.rates = append(j.rates, float64(n)/elapsed)
		}
		jobs = append(jobs, j)
	}
	m.mu.Unlock()
	for _, j := range jobs {
		tests := make([]*stat.Performance, len(j.r.arms))
		var err error
		for i, a := range j.r.arms {
			ref := j.ref
			ref.LabelsPerSecond = j.rates[i]
			if tests[i], err = m.opts.Calibrator.NewPerformance(j.r.name+"/"+a.name, ref); err != nil {
				break
			}
		}
		m.mu.Lock()
		if err != nil {
			j.r.failed = err.Error()
			m.log.Warn("performance cannot be tested against the reference", zap.String("route", j.r.name), zap.Error(err))
		} else {
			ref := j.ref
			j.r.ref, j.r.refFrom, j.r.refValue, j.r.edges = &ref, j.src, j.val, ref.AbsErrorEdges
			for i, a := range j.r.arms {
				a.test = tests[i]
				if ref.Numeric {
					a.absRing = stat.NewSliceRing(len(ref.AbsErrorProportions), m.windows)
				}
			}
			m.log.Info("performance reference set", zap.String("route", j.r.name), zap.String("from", j.src), zap.Float64("value", j.val))
		}
		j.r.first, j.r.firstAbs = nil, nil
		m.mu.Unlock()
	}
}

// profileReference is the route's reference performance from its profile.
func (m *Monitor) profileReference(route string) (stat.PerformanceReference, float64, bool) {
	if m.opts.Reference == nil {
		return stat.PerformanceReference{}, 0, false
	}
	p := m.opts.Reference(route)
	if p == nil || p.Rows == 0 {
		return stat.PerformanceReference{}, 0, false
	}
	if m.spec.Kind != perf.Numeric {
		return stat.PerformanceReference{ErrorRate: float64(p.Errors) / float64(p.Rows), M: p.Rows}, p.Accuracy(), true
	}
	props := make([]float64, len(p.AbsErrorCounts))
	for i, c := range p.AbsErrorCounts {
		props[i] = float64(c) / float64(p.Rows)
	}
	return stat.PerformanceReference{Numeric: true, M: p.Rows, AbsErrorEdges: p.AbsErrorEdges, AbsErrorProportions: props}, p.MAE, true
}

// liveReference is the reference set by the first labelled live rows.
func (m *Monitor) liveReference(r *routeMon) (stat.PerformanceReference, float64) {
	mt := r.first.Metrics()
	if m.spec.Kind != perf.Numeric {
		return stat.PerformanceReference{ErrorRate: float64(r.first.Errors()) / float64(r.first.N()), M: r.first.N()}, mt.Accuracy
	}
	errs := slices.Clone(r.firstAbs)
	slices.Sort(errs)
	const cells = 10
	var edges []float64
	for i := 1; i < cells; i++ {
		e := errs[i*len(errs)/cells]
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	props := make([]float64, len(edges)+1)
	for _, e := range errs {
		props[bucketOf(edges, e)] += 1 / float64(len(errs))
	}
	return stat.PerformanceReference{Numeric: true, M: uint64(len(errs)), AbsErrorEdges: edges, AbsErrorProportions: props}, mt.MAE
}

// evaluate computes r's windows, tests, SLA and verdicts at now.
func (m *Monitor) evaluate(r *routeMon, now time.Time, events []Event) []Event {
	for _, a := range r.arms {
		for j, k := range m.windows {
			a.ring.Window(k, a.win[j])
			a.metrics[j] = a.win[j].Metrics()
		}
		events = m.testArm(r, a, now, events)
		events = m.checkSLA(r, a, now, events)
	}
	live := r.arms[0]
	last := len(m.windows) - 1
	for _, a := range r.arms[1:] {
		var v perf.VerdictResult
		if a == r.shadow {
			r.pairs.Window(m.windows[last], &r.pairW)
			v = perf.PairedVerdict(&m.spec, &r.pairW, m.opts.Verdict)
		} else {
			v = perf.UnpairedVerdict(&m.spec, live.win[last], a.win[last], m.opts.Verdict)
		}
		if v.Verdict == perf.BetterByMargin && (!a.hasVerdict || a.verdict.Verdict != perf.BetterByMargin) {
			vv := v
			events = append(events, Event{Kind: EventPromotion, Route: r.name, Arm: a.name, At: now, Verdict: &vv, Paired: a == r.shadow,
				Window: m.names[last], Metric: v.Metric, Value: v.Challenger, Reference: v.Champion, PValue: v.PValue})
		}
		a.verdict, a.hasVerdict = v, true
	}
	return events
}

// testArm runs an arm's performance test over its windows.
func (m *Monitor) testArm(r *routeMon, a *armMon, now time.Time, events []Event) []Event {
	if a.test == nil {
		return events
	}
	var wins [8]stat.PerformanceWindow
	ws := wins[:0]
	var cells []stat.Window
	if a.absRing != nil {
		a.absRing.Flush()
		cells = a.absRing.Windows()
	}
	for j := range m.windows {
		w := stat.PerformanceWindow{N: a.win[j].N(), Errors: a.win[j].Errors()}
		if cells != nil {
			w.AbsErrorCells = cells[j].Cells
		}
		ws = append(ws, w)
	}
	eval, ev, changed := a.test.Evaluate(now, ws)
	a.eval = eval
	if !changed {
		return events
	}
	a.since = ev.At
	m.log.Info("performance state changed", zap.String("route", r.name), zap.String("arm", a.name),
		zap.String("from", ev.From.String()), zap.String("to", ev.To.String()))
	if ev.To == stat.StateDrift {
		e := Event{Kind: EventPerformance, Route: r.name, Arm: a.name, At: now, Reference: r.refValue, PValue: ev.PValue}
		if ev.Window >= 0 && ev.Window < len(m.names) {
			e.Window = m.names[ev.Window]
			e.Metric, e.Value = primary(&m.spec, &a.metrics[ev.Window])
		}
		events = append(events, e)
	}
	return events
}

// primary is the primary metric's name and value.
func primary(s *perf.Spec, mt *perf.Metrics) (string, float64) {
	if s.Kind == perf.Numeric {
		return "mae", mt.MAE
	}
	return "accuracy", mt.Accuracy
}

// checkSLA compares the shortest window with enough labels against the
// SLA's floors and ceilings.
func (m *Monitor) checkSLA(r *routeMon, a *armMon, now time.Time, events []Event) []Event {
	j := slices.IndexFunc(a.metrics, func(mt perf.Metrics) bool { return mt.N >= m.opts.Verdict.MinN })
	if j < 0 {
		return events
	}
	mt := &a.metrics[j]
	check := func(metric string, limit *float64, value float64, over bool) {
		if limit == nil || math.IsNaN(value) {
			return
		}
		breached := value < *limit
		if over {
			breached = value > *limit
		}
		if breached && !a.sla[metric] {
			events = append(events, Event{Kind: EventSLA, Route: r.name, Arm: a.name, At: now, Window: m.names[j], Metric: metric, Value: value, Limit: *limit})
		}
		a.sla[metric] = breached
	}
	sla := m.opts.SLA
	check("accuracy", sla.MinAccuracy, mt.Accuracy, false)
	check("rmse", sla.MaxRMSE, mt.RMSE, true)
	check("mae", sla.MaxMAE, mt.MAE, true)
	return events
}

// Labelled returns an arm's wrong predictions and labelled outcomes over
// the longest window, as of the last tick.
func (m *Monitor) Labelled(route, arm string) (wrong, labelled uint64, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.routes {
		if r.name != route {
			continue
		}
		for _, a := range r.arms {
			if a.name == arm && a.role != RoleShadow {
				w := a.win[len(a.win)-1]
				return w.Errors(), w.N(), true
			}
		}
	}
	return 0, 0, false
}
