package guard

import (
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftcar/driftcar/detector/stat"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/sampler"
)

// Stats are the cumulative counts of one arm of a route.
type Stats struct {
	// Requests counts answered requests; Errors those answered 5xx.
	Requests, Errors uint64
	// Buckets are cumulative request-duration counts (seconds) at the
	// upper bounds in Bounds; the +Inf count is Requests.
	Buckets []uint64
	Bounds  []float64
	// Streams counts the streamed answers timed to their first chunk, on
	// routes that time tokens; FirstToken are their cumulative counts at
	// Bounds.
	Streams    uint64
	FirstToken []uint64
}

// Quantile estimates the q-quantile of the arm's request durations; NaN
// without requests.
func (s Stats) Quantile(q float64) float64 { return stat.BucketQuantile(s.Bounds, s.Buckets, q) }

// FirstTokenQuantile estimates the q-quantile of the arm's times to the
// first chunk; NaN without streams.
func (s Stats) FirstTokenQuantile(q float64) float64 {
	return stat.BucketQuantile(s.Bounds, s.FirstToken, q)
}

// Arms are the arms the guard judges and steers. Implementations must be
// safe for concurrent use.
type Arms interface {
	// ArmStats returns the cumulative stats of one arm of route; ok is
	// false if no such arm serves.
	ArmStats(route, arm string) (st Stats, ok bool)
	// SetWeight sets the weight of one arm of route until the config
	// changes.
	SetWeight(route, arm string, weight int) error
}

// Options configure the canary guard.
type Options struct {
	// Rollback sets a breaching canary's weight to 0.
	Rollback bool
	// MinRequests each arm needs in the window.
	MinRequests uint64
	// MaxErrorRateIncrease is the tolerated canary-minus-live 5xx rate.
	MaxErrorRateIncrease float64
	// MaxLatencyP99Ratio is the tolerated canary/live p99 ratio.
	MaxLatencyP99Ratio float64
	// MaxTTFTP99Ratio is the tolerated canary/live p99 ratio of the time
	// to the first chunk of streamed answers; 0 does not judge it. Arms
	// need MinRequests streams each.
	MaxTTFTP99Ratio float64
	// PredictionDrift compares the canary's predictions with the live
	// arm's with the binned two-sample tests.
	PredictionDrift bool
	// MaxAccuracyDrop, with Labels set, is the tolerated live-minus-canary
	// accuracy on labelled outcomes; 0 does not judge it. Arms need
	// MinLabels labelled outcomes each.
	MaxAccuracyDrop float64
	MinLabels       uint64
	// Labels returns an arm's wrong predictions among its labelled
	// outcomes over the ground truth's window.
	Labels func(route, arm string) (wrong, labelled uint64, ok bool)
	// Window is the judged span of recent traffic.
	Window time.Duration
	// Slice is the sketch slice length (for prediction windows).
	Slice time.Duration
	// Alpha is the level of each statistical test per evaluation. Default
	// 1e-6: the guard tests every tick on overlapping windows and must not
	// roll a healthy canary back in months.
	Alpha float64
	// Confirm is the number of consecutive breaching evaluations before a
	// rollback. Default 3.
	Confirm int
	// Counts keeps the rollback totals; pass the previous guard's, so
	// that driftcar_canary_rollback_total survives a config change.
	// Default: new counts.
	Counts *RollbackCounts
}

// RollbackCounts are rollback totals by route and reason. They outlive
// the Guard a config change replaces. Safe for concurrent use.
type RollbackCounts struct {
	mu sync.Mutex
	n  map[[2]string]uint64
}

// NewRollbackCounts returns zero counts.
func NewRollbackCounts() *RollbackCounts {
	return &RollbackCounts{n: map[[2]string]uint64{}}
}

func (c *RollbackCounts) add(route, reason string) {
	c.mu.Lock()
	c.n[[2]string{route, reason}]++
	c.mu.Unlock()
}

func (c *RollbackCounts) get(route, reason string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[[2]string{route, reason}]
}

var rollbackReasons = []string{reasonErrorRate, reasonLatency, reasonTTFT, reasonPrediction, reasonAccuracy}

// Canary states, the values of driftcar_canary_state.
const (
	canaryOK = iota
	canaryInsufficient
	canaryRolledBack
)

var canaryStateNames = []string{"ok", "insufficient_data", "rolled_back"}

// Rollback reasons.
const (
	reasonErrorRate  = "error_rate"
	reasonLatency    = "latency"
	reasonTTFT       = "time_to_first_token"
	reasonPrediction = "prediction_drift"
	reasonAccuracy   = "accuracy"
)

// Guard compares each route's canary arms with its first (live) arm.
type Guard struct {
	opts   Options
	arms   Arms
	log    *zap.Logger
	mu     sync.Mutex
	routes map[string]*guardRoute
	order  []string
}

type guardRoute struct {
	arms    []string
	ring    []statsAt // cumulative stats per tick, oldest first
	state   int
	streak  map[string]int
	reasons map[string]string // rolled-back arm → reason
	last    map[string]Check
}

type statsAt struct {
	at    time.Time
	stats []Stats
}

// Check is the last comparison of one canary arm.
type Check struct {
	Arm            string   `json:"arm"`
	Requests       uint64   `json:"requests"`
	LiveRequests   uint64   `json:"live_requests"`
	ErrorRate      *float64 `json:"error_rate,omitempty"`
	LiveErrorRate  *float64 `json:"live_error_rate,omitempty"`
	P99Ratio       *float64 `json:"p99_ratio,omitempty"`
	Streams        uint64   `json:"streams,omitempty"`
	LiveStreams    uint64   `json:"live_streams,omitempty"`
	TTFTP99Ratio   *float64 `json:"ttft_p99_ratio,omitempty"`
	PredictionP    *float64 `json:"prediction_pvalue,omitempty"`
	Labelled       uint64   `json:"labelled,omitempty"`
	Accuracy       *float64 `json:"accuracy,omitempty"`
	LiveAccuracy   *float64 `json:"live_accuracy,omitempty"`
	Breaches       []string `json:"breaches,omitempty"`
	Streak         int      `json:"streak"`
	RolledBack     bool     `json:"rolled_back"`
	RollbackReason string   `json:"rollback_reason,omitempty"`
}

// View is /api/drift's canary section for one route.
type View struct {
	Route  string  `json:"route"`
	State  string  `json:"state"`
	Checks []Check `json:"checks"`
}

// New guards the routes (name → split arms, live first) that have a
// canary.
func New(opts Options, arms Arms, routes map[string][]string, order []string, log *zap.Logger) *Guard {
	if opts.Alpha <= 0 {
		opts.Alpha = 1e-6
	}
	if opts.Confirm <= 0 {
		opts.Confirm = 3
	}
	if opts.Counts == nil {
		opts.Counts = NewRollbackCounts()
	}
	if log == nil {
		log = zap.NewNop()
	}
	g := &Guard{
		opts: opts, arms: arms, log: log, routes: map[string]*guardRoute{},
	}
	for _, name := range order {
		arms := routes[name]
		if len(arms) < 2 {
			continue
		}
		g.order = append(g.order, name)
		g.routes[name] = &guardRoute{
			arms: arms, state: canaryInsufficient, streak: map[string]int{}, reasons: map[string]string{},
			last: map[string]Check{},
		}
	}
	return g
}

// Tick judges every guarded route at now; set, when not nil, holds the
// per-arm predictions.
func (g *Guard) Tick(now time.Time, set *sampler.Set) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, name := range g.order {
		r := g.routes[name]
		stats, ok := g.read(name, r.arms)
		if !ok {
			continue
		}
		r.ring = append(r.ring, statsAt{at: now, stats: stats})
		for len(r.ring) > 1 && now.Sub(r.ring[1].at) >= g.opts.Window {
			r.ring = r.ring[1:]
		}
		base := r.ring[0].stats
		judged := false
		for i := 1; i < len(r.arms); i++ {
			arm := r.arms[i]
			if _, done := r.reasons[arm]; done {
				continue
			}
			check, ok := g.check(name, set, delta(stats[0], base[0]), delta(stats[i], base[i]), arm)
			judged = judged || ok
			if len(check.Breaches) > 0 {
				r.streak[arm]++
			} else {
				r.streak[arm] = 0
			}
			check.Streak = r.streak[arm]
			if r.streak[arm] >= g.opts.Confirm {
				g.rollback(name, r, arm, check.Breaches[0])
				check.RolledBack, check.RollbackReason = true, r.reasons[arm]
			}
			r.last[arm] = check
		}
		switch {
		case len(r.reasons) > 0:
			r.state = canaryRolledBack
		case judged:
			r.state = canaryOK
		default:
			r.state = canaryInsufficient
		}
	}
}

// read returns the stats of every arm of route, or false if one does not
// serve.
func (g *Guard) read(route string, arms []string) ([]Stats, bool) {
	out := make([]Stats, len(arms))
	for i, arm := range arms {
		st, ok := g.arms.ArmStats(route, arm)
		if !ok {
			return nil, false
		}
		out[i] = st
	}
	return out, true
}

func (g *Guard) rollback(route string, r *guardRoute, arm, reason string) {
	r.reasons[arm] = reason
	g.opts.Counts.add(route, reason)
	action := "reported (rollback: false)"
	if g.opts.Rollback {
		if err := g.arms.SetWeight(route, arm, 0); err != nil {
			g.log.Error("cannot roll the canary back", zap.String("route", route), zap.String("arm", arm), zap.Error(err))
			return
		}
		action = "weight set to 0 until the config changes"
	}
	g.log.Warn("canary rolled back", zap.String("route", route), zap.String("arm", arm),
		zap.String("reason", reason), zap.String("action", action))
}

// check compares one canary arm with the live arm over the window; ok
// reports whether both had enough requests to be judged.
func (g *Guard) check(route string, set *sampler.Set, live, canary Stats, arm string) (Check, bool) {
	c := Check{Arm: arm, Requests: canary.Requests, LiveRequests: live.Requests}
	if canary.Requests < g.opts.MinRequests || live.Requests < g.opts.MinRequests {
		return c, false
	}
	er := stat.CompareErrorRates(canary.Errors, canary.Requests, live.Errors, live.Requests, g.opts.MaxErrorRateIncrease, g.opts.Alpha)
	c.ErrorRate, c.LiveErrorRate = optional(er.Canary), optional(er.Live)
	if er.Breach {
		c.Breaches = append(c.Breaches, reasonErrorRate)
	}
	liveP99 := live.Quantile(0.99)
	lat := stat.CompareLatency(canary.Quantile(0.99), liveP99, g.opts.MaxLatencyP99Ratio)
	c.P99Ratio = optional(lat.Ratio)
	if lat.Breach && slowerThan(canary.Requests, canary.Buckets, canary.Bounds, liveP99*g.opts.MaxLatencyP99Ratio, g.opts.Alpha) {
		c.Breaches = append(c.Breaches, reasonLatency)
	}
	c.Streams, c.LiveStreams = canary.Streams, live.Streams
	if g.opts.MaxTTFTP99Ratio > 0 && canary.Streams >= g.opts.MinRequests && live.Streams >= g.opts.MinRequests {
		liveP99 := live.FirstTokenQuantile(0.99)
		ttft := stat.CompareLatency(canary.FirstTokenQuantile(0.99), liveP99, g.opts.MaxTTFTP99Ratio)
		c.TTFTP99Ratio = optional(ttft.Ratio)
		if ttft.Breach && slowerThan(canary.Streams, canary.FirstToken, canary.Bounds, liveP99*g.opts.MaxTTFTP99Ratio, g.opts.Alpha) {
			c.Breaches = append(c.Breaches, reasonTTFT)
		}
	}
	g.checkAccuracy(route, arm, &c)
	if g.opts.PredictionDrift && set != nil {
		if p, ok := g.predictions(route, set, arm); ok {
			c.PredictionP = optional(p.PValue)
			if p.Breach {
				c.Breaches = append(c.Breaches, reasonPrediction)
			}
		}
	}
	return c, true
}

// checkAccuracy compares the canary's labelled accuracy with live's: a
// drop beyond MaxAccuracyDrop is the error-rate test's breach.
func (g *Guard) checkAccuracy(route, arm string, c *Check) {
	if g.opts.MaxAccuracyDrop <= 0 || g.opts.Labels == nil {
		return
	}
	r := g.routes[route]
	cw, cn, ok1 := g.opts.Labels(route, arm)
	lw, ln, ok2 := g.opts.Labels(route, r.arms[0])
	c.Labelled = cn
	if !ok1 || !ok2 || cn < max(g.opts.MinLabels, 1) || ln < max(g.opts.MinLabels, 1) {
		return
	}
	er := stat.CompareErrorRates(cw, cn, lw, ln, g.opts.MaxAccuracyDrop, g.opts.Alpha)
	c.Accuracy, c.LiveAccuracy = optional(1-er.Canary), optional(1-er.Live)
	if er.Breach {
		c.Breaches = append(c.Breaches, reasonAccuracy)
	}
}

// predictions compares the canary's prediction cells with the live arm's.
func (g *Guard) predictions(route string, set *sampler.Set, arm string) (stat.TwoSampleResult, bool) {
	tap := set.Tap(route)
	if tap == nil {
		return stat.TwoSampleResult{}, false
	}
	r := g.routes[route]
	liveSt, canarySt := tap.ArmPredictions(r.arms[0]), tap.ArmPredictions(arm)
	if liveSt == nil || canarySt == nil || g.opts.Slice <= 0 {
		return stat.TwoSampleResult{}, false
	}
	k := max(1, int(g.opts.Window/g.opts.Slice))
	lw, cw := liveSt.Window(0, k), canarySt.Window(0, k)
	if lw.Valid < g.opts.MinRequests || cw.Valid < g.opts.MinRequests {
		return stat.TwoSampleResult{}, false
	}
	ref := liveSt.Reference(0)
	numeric := ref.Type == payload.Numeric.String()
	// The tested cells: numeric bins, or the dictionary and OTHER.
	cells := len(ref.Categories) + 1
	if numeric {
		cells = len(ref.Proportions)
	}
	return stat.CompareCounts(lw.Cells[:cells], cw.Cells[:cells], numeric, g.opts.Alpha), true
}

// slowerThan tests whether significantly more than 1% of n timings,
// cumulative counts at bounds, exceed limit: if the canary's p99 were
// within limit, at most 1% would. It guards the p99 ratio, estimated from
// buckets about 1.6x apart, against noise: it counts only timings in
// buckets wholly above limit.
func slowerThan(n uint64, buckets []uint64, bounds []float64, limit, alpha float64) bool {
	if n == 0 || math.IsNaN(limit) {
		return false
	}
	within := n // the +Inf bucket
	for i, b := range bounds {
		if i < len(buckets) && b >= limit {
			within = buckets[i]
			break
		}
	}
	slow := n - min(within, n)
	return stat.BinomialSF(slow, n, 0.01) < alpha
}

// delta is the stats of a window: now minus then.
func delta(now, then Stats) Stats {
	return Stats{
		Requests: now.Requests - then.Requests, Errors: now.Errors - then.Errors, Bounds: now.Bounds,
		Buckets: deltaCounts(now.Buckets, then.Buckets),
		Streams: now.Streams - then.Streams, FirstToken: deltaCounts(now.FirstToken, then.FirstToken),
	}
}

func deltaCounts(now, then []uint64) []uint64 {
	d := make([]uint64, len(now))
	for i := range now {
		d[i] = now[i]
		if i < len(then) {
			d[i] -= then[i]
		}
	}
	return d
}

// View returns the last checks of every guarded route.
func (g *Guard) View() []View {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []View
	for _, name := range g.order {
		r := g.routes[name]
		v := View{Route: name, State: canaryStateNames[r.state]}
		for _, arm := range r.arms[1:] {
			if c, ok := r.last[arm]; ok {
				v.Checks = append(v.Checks, c)
			}
		}
		out = append(out, v)
	}
	return out
}

// The descriptors of Collect, fixed for every Guard.
var (
	rollbackDesc = prometheus.NewDesc("driftcar_canary_rollback_total", "Canary rollbacks by reason.", []string{"route", "reason"}, nil)
	stateDesc    = prometheus.NewDesc("driftcar_canary_state", "Canary guard state: 0 ok, 1 insufficient_data, 2 rolled_back.", []string{"route"}, nil)
)

// Describe sends the guard's descriptors; they are the same for every
// Guard.
func Describe(ch chan<- *prometheus.Desc) {
	ch <- rollbackDesc
	ch <- stateDesc
}

// Collect exports the guard's states and rollback totals.
func (g *Guard) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, name := range g.order {
		r := g.routes[name]
		ch <- prometheus.MustNewConstMetric(stateDesc, prometheus.GaugeValue, float64(r.state), name)
		for _, reason := range rollbackReasons {
			n := g.opts.Counts.get(name, reason)
			ch <- prometheus.MustNewConstMetric(rollbackDesc, prometheus.CounterValue, float64(n), name, reason)
		}
	}
}

func optional(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}
