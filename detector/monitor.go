package detector

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/driftcar/driftcar/detector/guard"
	"github.com/driftcar/driftcar/detector/stat"
	"github.com/driftcar/driftcar/sampler"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// Options configure a Monitor.
type Options struct {
	Logger *zap.Logger
	// Now is the clock of evaluations. Default time.Now.
	Now func() time.Time
	// Calibrator holds the detector options and caches their calibrated
	// thresholds; share one across Monitors of equal options. Required.
	Calibrator *stat.Calibrator
	// Correction is the dataset-level multiple-testing correction.
	Correction stat.Correction
	// Notify, when set, is called (on the ticking goroutine, so it must
	// not block) when a route's features begin to drift.
	Notify func(Alert)
	// Guard, when set, guards the canaries; SetGuard replaces it.
	Guard *guard.Guard
	// HistorySize bounds the kept state changes. Default 256.
	HistorySize int
}

// Alert describes the features of a route that began drifting at one tick.
type Alert struct {
	Route    string
	At       time.Time
	Features []FeatureView
}

// Monitor evaluates the features of every sampling route of a Set.
type Monitor struct {
	opts    Options
	log     *zap.Logger
	set     *sampler.Set
	windows []int // in slices
	guard   atomic.Pointer[guard.Guard]

	mu      sync.Mutex // guards everything below
	routes  []*routeMon
	history []Change
	next    int // history ring position
	full    bool
	ticks   uint64
}

// Change is one state change, of a feature or of a route's dataset.
type Change struct {
	At        time.Time `json:"at"`
	Route     string    `json:"route"`
	Feature   string    `json:"feature,omitempty"` // empty for the dataset
	From      string    `json:"from"`
	To        string    `json:"to"`
	Window    string    `json:"window,omitempty"`
	Test      string    `json:"test,omitempty"`
	Statistic float64   `json:"statistic,omitempty"`
	Threshold float64   `json:"threshold,omitempty"`
	PValue    float64   `json:"pvalue,omitempty"`
}

type routeMon struct {
	route    string
	tap      *sampler.Tap
	st       *sketch.State // nil until the reference is ready
	features []*featureMon
	dets     []*stat.Feature
	dataset  *stat.Dataset
	last     *stat.DatasetResult
	dsState  stat.State
	skipped  []string // features the detector cannot test, and why
}

type featureMon struct {
	name    string
	index   int
	numeric bool
	cells   int
	det     *stat.Feature
	counts  []sketch.Counts
	windows []stat.Window
	eval    *stat.Evaluation
	since   time.Time
}

// New returns a monitor of set's sampling routes; set may be nil when only
// the canary guard runs.
func New(set *sampler.Set, opts Options) (*Monitor, error) {
	if opts.Calibrator == nil {
		return nil, errors.New("drift: Options.Calibrator is required")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HistorySize <= 0 {
		opts.HistorySize = 256
	}
	do := opts.Calibrator.Options()
	m := &Monitor{opts: opts, log: opts.Logger, set: set, history: make([]Change, opts.HistorySize)}
	m.guard.Store(opts.Guard)
	for _, w := range do.Windows {
		m.windows = append(m.windows, int(w/do.Slice))
	}
	if set != nil {
		for _, route := range set.Routes() {
			m.routes = append(m.routes, &routeMon{route: route, tap: set.Tap(route), dataset: stat.NewDataset(opts.Correction, 0)})
		}
	}
	return m, nil
}

// SetGuard replaces the canary guard (nil removes it), for a config
// change that keeps the monitor: the new guard judges from scratch.
func (m *Monitor) SetGuard(g *guard.Guard) { m.guard.Store(g) }

// Run ticks every Options.Calibrator.Options().Every until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(m.opts.Calibrator.Options().Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.safeTick()
		}
	}
}

func (m *Monitor) safeTick() {
	defer func() {
		if r := recover(); r != nil {
			m.log.Error("drift tick panicked", zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
		}
	}()
	m.Tick(m.opts.Now())
}

// Tick evaluates every feature of every route at now.
func (m *Monitor) Tick(now time.Time) {
	// Detectors are built (and their thresholds calibrated, which takes
	// seconds the first time) before taking the lock that /metrics and
	// /api/drift need. Only Tick writes the routes, so reading them here
	// is safe.
	var ready []*prepared
	for _, r := range m.routes {
		if r.st == nil {
			if p := m.prepare(r); p != nil {
				ready = append(ready, p)
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range ready {
		p.install()
	}
	m.ticks++
	for _, r := range m.routes {
		if r.st == nil {
			continue
		}
		var drifting []FeatureView
		for _, f := range r.features {
			for j, k := range m.windows {
				r.st.WindowInto(&f.counts[j], f.index, k)
				window(&f.counts[j], r.st.Layout(f.index), f.numeric, f.cells, &f.windows[j])
			}
			eval, ev, changed := f.det.Evaluate(now, f.windows)
			f.eval = eval
			if !changed {
				continue
			}
			f.since = ev.At
			m.record(r.route, &ev)
			if ev.To == stat.StateDrift {
				drifting = append(drifting, m.featureView(f))
			}
		}
		if len(r.dets) > 0 {
			r.last = r.dataset.Evaluate(r.dets)
			if r.last.State != r.dsState {
				m.recordDataset(r, now)
			}
		}
		if len(drifting) > 0 && m.opts.Notify != nil {
			m.opts.Notify(Alert{Route: r.route, At: now, Features: drifting})
		}
	}
	if g := m.guard.Load(); g != nil {
		g.Tick(now, m.set)
	}
}

// prepared is a route's detectors, built and waiting to be installed
// under the lock.
type prepared struct {
	r        *routeMon
	st       *sketch.State
	features []*featureMon
	dets     []*stat.Feature
	skipped  []string
	dataset  *stat.Dataset
}

func (p *prepared) install() {
	p.r.features, p.r.dets, p.r.skipped = p.features, p.dets, p.skipped
	if p.dataset != nil {
		p.r.dataset = p.dataset
	}
	p.r.st = p.st
}

// prepare builds the detectors of a route once its reference is ready, or
// returns nil.
func (m *Monitor) prepare(r *routeMon) *prepared {
	st := r.tap.State()
	if st == nil {
		return nil
	}
	out := &prepared{r: r, st: st}
	p := st.Profile()
	n := st.NumFeatures()
	if p.Prediction != nil {
		if _, ok := st.FeatureIndex(p.Prediction.Name); ok {
			n++
		}
	}
	for i := range n {
		fp := st.Reference(i)
		ref, cells := reference(fp, p.Rows)
		name := fp.Name
		if i >= st.NumFeatures() {
			name = sampler.PredictionFeature
		}
		det, err := m.opts.Calibrator.NewFeature(name, ref)
		if err != nil {
			out.skipped = append(out.skipped, fmt.Sprintf("%s: %v", name, err))
			m.log.Warn("feature cannot be tested for drift", zap.String("route", r.route), zap.String("feature", name), zap.Error(err))
			continue
		}
		f := &featureMon{
			name: name, index: i, numeric: ref.Numeric, cells: cells, det: det,
			counts:  make([]sketch.Counts, len(m.windows)),
			windows: make([]stat.Window, len(m.windows)),
		}
		out.features = append(out.features, f)
		out.dets = append(out.dets, det)
	}
	if len(out.dets) > 0 {
		out.dataset = stat.NewDataset(m.opts.Correction, out.dets[0].FamilyAlpha())
	}
	return out
}

func (m *Monitor) record(route string, ev *stat.Event) {
	c := Change{At: ev.At, Route: route, Feature: ev.Feature, From: ev.From.String(), To: ev.To.String()}
	if ev.Test != stat.TestNone {
		c.Test, c.Statistic, c.Threshold, c.PValue = ev.Test.String(), ev.Statistic, ev.Threshold, ev.PValue
		c.Window = m.windowName(ev.Window)
	}
	m.push(c)
	m.log.Info("drift state changed",
		zap.String("route", route), zap.String("feature", ev.Feature),
		zap.String("from", c.From), zap.String("to", c.To),
		zap.String("test", c.Test), zap.String("window", c.Window),
		zap.Float64("statistic", finite(c.Statistic)), zap.Float64("threshold", finite(c.Threshold)),
		zap.Float64("pvalue", finite(c.PValue)))
}

func (m *Monitor) recordDataset(r *routeMon, now time.Time) {
	c := Change{At: now, Route: r.route, From: r.dsState.String(), To: r.last.State.String()}
	r.dsState = r.last.State
	m.push(c)
	m.log.Info("dataset drift state changed", zap.String("route", r.route),
		zap.String("from", c.From), zap.String("to", c.To),
		zap.Int("drifted", r.last.Drifted), zap.Int("features", r.last.Features))
}

func (m *Monitor) push(c Change) {
	m.history[m.next] = c
	m.next = (m.next + 1) % len(m.history)
	if m.next == 0 {
		m.full = true
	}
}

func (m *Monitor) windowName(j int) string {
	if j < 0 || j >= len(m.windows) {
		return ""
	}
	return stat.WindowLabel(m.opts.Calibrator.Options().Windows[j])
}
