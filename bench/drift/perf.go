package drift

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/driftcar/driftcar/detector/stat"
)

// PerfConfig configures SimulatePerformance: concept drift seen through
// labelled outcomes. Zero fields take the defaults shown.
type PerfConfig struct {
	// Options are the detector options (DefaultOptions when zero).
	Options stat.Options
	// LabelsPerSecond is the rate of labelled outcomes; default 20.
	LabelsPerSecond float64
	// Before and After are the model's accuracy before and after the drop;
	// default 0.90 and 0.85. The reference accuracy is Before.
	Before, After float64
	// ReferenceSize is the reference's labelled rows M; default 100000.
	ReferenceSize uint64
	// Trials of the drop; default 500. Horizon bounds each; default 30m.
	Trials  int
	Horizon time.Duration
	// Streams stationary streams of Days each count the false alarms;
	// default 20 × 20 days.
	Streams int
	Days    float64
	// Seed seeds every generator; the result is deterministic.
	Seed uint64
}

// PerfResult is the outcome of SimulatePerformance.
type PerfResult struct {
	Config      PerfConfig
	Calibration stat.Calibration
	// Alpha is the per-evaluation level of both detectors.
	Alpha float64
	// Calibrated is stat.Performance on the slice ring's windows; Exact is
	// the exact one-sided binomial test of a sliding 5-minute window.
	Calibrated, Exact PerfDetector
	Elapsed           time.Duration
}

// PerfDetector is one detector's delay to drift after the drop and its
// false alarms on the stationary streams.
type PerfDetector struct {
	Delay Delay
	// P90 is the 90th percentile of the detected trials' delays.
	P90         time.Duration
	FalseAlarms FalseAlarms
}

func (c PerfConfig) withDefaults() PerfConfig {
	if c.LabelsPerSecond == 0 {
		c.LabelsPerSecond = 20
	}
	if c.Before == 0 {
		c.Before = 0.90
	}
	if c.After == 0 {
		c.After = 0.85
	}
	if c.ReferenceSize == 0 {
		c.ReferenceSize = 100000
	}
	if c.Trials == 0 {
		c.Trials = 500
	}
	if c.Horizon == 0 {
		c.Horizon = 30 * time.Minute
	}
	if c.Streams == 0 {
		c.Streams = 20
	}
	if c.Days == 0 {
		c.Days = 20
	}
	return c
}

// exactWindow is the exact sliding window of the baseline.
const exactWindow = 5 * time.Minute

// SimulatePerformance runs the performance-drift benchmark on a virtual
// clock: stationary labelled outcomes at the reference accuracy for the
// false alarms, then trials of the accuracy drop for the detection delay,
// with the calibrated detector and the exact baseline on the same labels.
func SimulatePerformance(cfg PerfConfig) (*PerfResult, error) {
	start := time.Now()
	cfg = cfg.withDefaults()
	if !(cfg.LabelsPerSecond > 0) || !(cfg.Before > 0 && cfg.Before < 1) || !(cfg.After > 0 && cfg.After < 1) || cfg.Trials < 0 || cfg.Streams < 0 || cfg.Days < 0 {
		return nil, fmt.Errorf("cannot run performance benchmark with %+v: %w", cfg, stat.ErrBadOptions)
	}
	o := cfg.Options
	o.LazyPValues = true
	cal, err := stat.NewCalibrator(o)
	if err != nil {
		return nil, fmt.Errorf("cannot run performance benchmark: %w", err)
	}
	ref := stat.PerformanceReference{ErrorRate: 1 - cfg.Before, M: cfg.ReferenceSize, LabelsPerSecond: cfg.LabelsPerSecond}
	res := &PerfResult{Config: cfg}
	if res.Calibration, err = cal.PerformanceCalibration(ref); err != nil {
		return nil, fmt.Errorf("cannot run performance benchmark: %w", err)
	}
	p, err := cal.NewPerformance("bench", ref)
	if err != nil {
		return nil, fmt.Errorf("cannot run performance benchmark: %w", err)
	}
	res.Alpha = p.Alpha()
	opts := cal.Options()
	b := &perfBench{cfg: cfg, opts: opts, p: p, tps: opts.TicksPerSlice()}
	for i := range opts.Windows {
		b.ks = append(b.ks, opts.WindowSlices(i))
	}
	b.ex = newExactBinomial(int(exactWindow/opts.Every), 1-cfg.Before, res.Alpha, &opts)
	b.wins = make([]stat.PerformanceWindow, len(b.ks))
	res.Calibrated.FalseAlarms, res.Exact.FalseAlarms = b.stationary()
	var cd, ed []time.Duration
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x70657266))
	for range cfg.Trials {
		d1, ok1, d2, ok2 := b.trial(rng)
		if ok1 {
			cd = append(cd, d1)
		}
		if ok2 {
			ed = append(ed, d2)
		}
	}
	res.Calibrated.summarise(cd, cfg.Trials)
	res.Exact.summarise(ed, cfg.Trials)
	res.Elapsed = time.Since(start)
	return res, nil
}

func (d *PerfDetector) summarise(ds []time.Duration, trials int) {
	d.Delay.Trials = trials
	d.Delay.summarise(ds) // sorts ds
	if len(ds) > 0 {
		d.P90 = ds[min(len(ds)-1, int(math.Ceil(0.9*float64(len(ds))))-1)]
	}
}

type perfBench struct {
	cfg  PerfConfig
	opts stat.Options
	p    *stat.Performance
	ex   *exactBinomial
	tps  int
	ks   []int
	ring *stat.SliceRing
	wins []stat.PerformanceWindow
	t    int
	now  time.Time
}

// reset starts both detectors and the windows afresh.
func (b *perfBench) reset() {
	b.ring = stat.NewSliceRing(2, b.ks)
	b.p.Reset()
	b.ex.reset()
	b.t, b.now = 0, benchEpoch
}

// labels draws n outcomes at error rate e into the ring's tick (cell 1
// wrong) and the baseline.
func (b *perfBench) labels(rng *rand.Rand, e float64, n int) {
	tk := b.ring.Tick()
	for range n {
		wrong := rng.Float64() < e
		if wrong {
			tk[1]++
		} else {
			tk[0]++
		}
		b.ex.add(wrong)
	}
}

// step ends the tick and, when evaluate is set, evaluates both detectors;
// it reports whether each entered drift.
func (b *perfBench) step(evaluate bool) (calibrated, exact bool) {
	b.ring.Flush()
	b.t++
	b.now = benchEpoch.Add(time.Duration(b.t) * b.opts.Every)
	if evaluate {
		for i, w := range b.ring.Windows() {
			b.wins[i].N, b.wins[i].Errors = w.Cells[0]+w.Cells[1], w.Cells[1]
		}
		_, ev, ch := b.p.Evaluate(b.now, b.wins)
		calibrated = ch && ev.To == stat.StateDrift
		exact = b.ex.evaluate(b.now)
	}
	b.ex.rotate()
	if b.t%b.tps == 0 {
		b.ring.Rotate()
	}
	return calibrated, exact
}

// stationary counts drift onsets of both detectors on stationary streams
// after the longest window's warm-up.
func (b *perfBench) stationary() (cal, exact FalseAlarms) {
	cfg := b.cfg
	warm := b.ks[len(b.ks)-1] * b.tps
	ticks := int(cfg.Days * float64(24*time.Hour) / float64(b.opts.Every))
	perDay := b.opts.FalseAlarmRate.PerSecond() * 86400
	cal.Configured, exact.Configured = perDay, perDay
	for s := range cfg.Streams {
		b.reset()
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(s)+0x706173))
		rows := rowsPerTick{rate: cfg.LabelsPerSecond * b.opts.Every.Seconds()}
		for t := range warm + ticks {
			b.labels(rng, 1-cfg.Before, rows.next())
			c, e := b.step(true)
			if t >= warm {
				cal.Alarms += b2i(c)
				exact.Alarms += b2i(e)
			}
		}
	}
	days := float64(cfg.Streams) * float64(ticks) * b.opts.Every.Seconds() / 86400
	for _, fa := range []*FalseAlarms{&cal, &exact} {
		fa.FeatureDays = days
		if days > 0 {
			fa.PerFeatureDay = float64(fa.Alarms) / days
			fa.Low, fa.High = poissonInterval(fa.Alarms)
			fa.Low /= days
			fa.High /= days
		}
	}
	return cal, exact
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// trial warms both detectors at the reference accuracy, drops it at a
// random phase of a tick, and returns each detector's delay to drift.
func (b *perfBench) trial(rng *rand.Rand) (time.Duration, bool, time.Duration, bool) {
	cfg := b.cfg
	b.reset()
	rows := rowsPerTick{rate: cfg.LabelsPerSecond * b.opts.Every.Seconds()}
	warm := b.ks[len(b.ks)-1]*b.tps + b.tps
	for b.t < warm {
		b.labels(rng, 1-cfg.Before, rows.next())
		b.step(b.t >= warm-b.tps)
	}
	phase := rng.Float64()
	onset := b.now.Add(time.Duration(phase * float64(b.opts.Every)))
	n := rows.next()
	pre := int(math.Round(phase * float64(n)))
	b.labels(rng, 1-cfg.Before, pre)
	b.labels(rng, 1-cfg.After, n-pre)
	var d1, d2 time.Duration
	var ok1, ok2 bool
	for {
		c, e := b.step(true)
		if c && !ok1 {
			d1, ok1 = b.now.Sub(onset), true
		}
		if e && !ok2 {
			d2, ok2 = b.now.Sub(onset), true
		}
		if ok1 && ok2 || b.now.Sub(onset) >= cfg.Horizon {
			return d1, ok1, d2, ok2
		}
		b.labels(rng, 1-cfg.After, rows.next())
	}
}

// exactBinomial is the baseline: the exact one-sided binomial test
// P(X ≥ errors) of Bin(n, p0) over a sliding window of whole ticks, with
// the reference rate taken as exact, at the calibrated per-evaluation
// level (no Bonferroni over windows: it has one), through the same alarm
// state machine.
type exactBinomial struct {
	n, errs []uint64 // per tick, a ring
	cur     int
	sumN    uint64
	sumE    uint64
	p0      float64
	alpha   float64
	opts    *stat.Options
	mach    stat.Machine
}

func newExactBinomial(ticks int, p0, alpha float64, o *stat.Options) *exactBinomial {
	return &exactBinomial{n: make([]uint64, ticks), errs: make([]uint64, ticks), p0: p0, alpha: alpha, opts: o, mach: stat.NewMachine(o.Hysteresis)}
}

func (e *exactBinomial) reset() {
	clear(e.n)
	clear(e.errs)
	e.cur, e.sumN, e.sumE = 0, 0, 0
	e.mach = stat.NewMachine(e.opts.Hysteresis)
}

func (e *exactBinomial) add(wrong bool) {
	e.n[e.cur]++
	e.sumN++
	if wrong {
		e.errs[e.cur]++
		e.sumE++
	}
}

// rotate drops the oldest tick.
func (e *exactBinomial) rotate() {
	e.cur = (e.cur + 1) % len(e.n)
	e.sumN -= e.n[e.cur]
	e.sumE -= e.errs[e.cur]
	e.n[e.cur], e.errs[e.cur] = 0, 0
}

// evaluate tests the window and reports whether the machine entered drift.
func (e *exactBinomial) evaluate(now time.Time) bool {
	sig := stat.SignalInsufficient
	if e.sumN >= e.opts.MinSamples {
		p := stat.BinomialSF(e.sumE, e.sumN, e.p0)
		switch {
		case p < e.alpha*e.opts.StrongRatio:
			sig = stat.SignalStrong
		case p < e.alpha:
			sig = stat.SignalBreach
		case p < e.alpha*e.opts.WarnRatio:
			sig = stat.SignalNear
		default:
			sig = stat.SignalClean
		}
	}
	st, changed := e.mach.Step(now, sig)
	return changed && st == stat.StateDrift
}
