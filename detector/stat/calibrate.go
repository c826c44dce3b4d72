package stat

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Calibration is the per-evaluation significance level of one feature class
// (kind and number of cells) and how it was found.
type Calibration struct {
	// Numeric and Cells identify the class (the simulated cell count).
	Numeric bool
	Cells   int
	// Alpha is the per-evaluation level α used by every deciding test of
	// every window.
	Alpha float64
	// UnionAlpha is the Bonferroni level r·τ/K that holds for any
	// dependence between evaluations; Alpha is never below it.
	UnionAlpha float64
	// K is the number of deciding tests times windows.
	K int
	// Ticks is the number of simulated evaluations after warm-up, and
	// Simulated their virtual duration.
	Ticks     int
	Simulated time.Duration
	// Levels are the simulated rates of drift onsets (alarms per second)
	// at levels α_j; they show the fit.
	Levels []LevelRate
	// Slope is the log–log slope of the onset rate in α used to
	// extrapolate, and Extrapolated reports whether the target lay below
	// the simulated levels.
	Slope        float64
	Extrapolated bool
	// Elapsed is the wall-clock cost of the simulation.
	Elapsed time.Duration
}

// LevelRate is the simulated rate of alarm onsets at one level.
type LevelRate struct {
	Alpha  float64
	Events int
	Rate   float64 // per second
}

// Calibrator turns Options into calibrated per-evaluation levels, cached per
// feature or performance class, and builds Features and Performances. It is safe for concurrent use.
type Calibrator struct {
	opts Options
	mu   sync.Mutex
	cls  map[classKey]*classEntry
	// perf caches the performance classes (performance_calibrate.go), at
	// most maxPerformanceClasses; perfUncached counts the misses past it.
	perf         map[perfKey]*classEntry
	perfUncached atomic.Uint64
}

type classKey struct {
	numeric bool
	cells   int
}

type classEntry struct {
	once sync.Once
	cal  Calibration
	err  error
}

// NewCalibrator validates opts (filling defaults). It simulates nothing
// until a class is first needed.
func NewCalibrator(opts Options) (*Calibrator, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Calibrator{opts: o, cls: make(map[classKey]*classEntry)}, nil
}

// Options returns the options with defaults filled in.
func (c *Calibrator) Options() Options { return c.opts }

// Calibration returns the calibration of a class, simulating it on first
// use. Categorical classes are keyed by the cell count rounded up to a
// power of two.
func (c *Calibrator) Calibration(numeric bool, cells int) (Calibration, error) {
	if cells < 2 {
		return Calibration{}, fmt.Errorf("cannot calibrate %d cells: want at least 2: %w", cells, ErrBadReference)
	}
	if !numeric {
		cells = categoricalClass(cells)
	}
	k := classKey{numeric, cells}
	c.mu.Lock()
	e := c.cls[k]
	if e == nil {
		e = &classEntry{}
		c.cls[k] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.cal, e.err = c.simulate(numeric, cells) })
	return e.cal, e.err
}

// categoricalClass rounds a categorical cell count up to a power of two (at
// least 4), so that a few simulations serve any mix of dictionary sizes. More
// Zipf cells mean sparser cells and heavier null tails, so the level of the
// larger class is conservative for the smaller features in it.
func categoricalClass(cells int) int {
	c := 4
	for c < cells {
		c *= 2
	}
	return c
}

// NewFeature builds the detector of one feature with the calibrated level
// of its class.
func (c *Calibrator) NewFeature(name string, ref Reference) (*Feature, error) {
	if _, err := ref.validate(); err != nil {
		return nil, fmt.Errorf("cannot use reference of feature %q: %w", name, err)
	}
	cal, err := c.Calibration(ref.Numeric, len(ref.Proportions))
	if err != nil {
		return nil, fmt.Errorf("cannot calibrate feature %q: %w", name, err)
	}
	return newFeature(name, &ref, &c.opts, cal.Alpha)
}

// canonicalReference is the shape simulated for a class: equiprobable
// reference-quantile bins for numeric features, Zipf(1) proportions with
// OTHER last for categorical ones, M = 10⁶, and every rate 1%.
func canonicalReference(numeric bool, cells int) Reference {
	p := make([]float64, cells)
	for i := range p {
		if numeric {
			p[i] = 1
		} else {
			p[i] = 1 / float64(i+1)
		}
	}
	r := Reference{Numeric: numeric, Proportions: p, M: 1_000_000, MissingRate: 0.01, InvalidRate: 0.01, OutOfRangeRate: 0.01, UnseenRate: 0.01, OtherCell: -1}
	if !numeric {
		r.OtherCell = cells - 1
	}
	return r
}

// screenAlpha is the highest level the simulation tracks.
const screenAlpha = 0.01

// levelsPerDecade and numLevels lay out the level grid α_j.
const (
	levelsPerDecade = 8
	numLevels       = 12 * levelsPerDecade
)

func levelAlpha(j int) float64 { return screenAlpha * math.Pow(10, -float64(j)/levelsPerDecade) }

// simulate runs the stationary stream of a class's canonical shape and fits
// the per-evaluation level whose alarm-onset rate is the target.
func (c *Calibrator) simulate(numeric bool, cells int) (Calibration, error) {
	start := time.Now()
	o := c.opts
	ref := canonicalReference(numeric, cells)
	probeOpts := o
	probeOpts.WarnRatio = 1
	probeOpts.LazyPValues = true
	probe, err := newFeature("calibration", &ref, &probeOpts, screenAlpha)
	if err != nil {
		return Calibration{}, err
	}
	cal := Calibration{Numeric: numeric, Cells: cells, K: probe.k}
	rows := float64(o.Calibration.Rows)
	if rows == 0 {
		rows = c.defaultRowsPerTick()
	}
	stream := newNullStream(&ref, probe.props)
	c.fitLevels(&cal, cells, rows, featureOnsets, &featureProbe{f: probe, stream: &stream})
	cal.Elapsed = time.Since(start)
	return cal, nil
}

// defaultRowsPerTick is enough rows per tick for 2·MinSamples values in
// the shortest window.
func (c *Calibrator) defaultRowsPerTick() float64 {
	o := &c.opts
	return math.Ceil(2 * float64(o.MinSamples) / float64(o.WindowSlices(0)*o.TicksPerSlice()))
}

// nullProbe is what a calibration simulates: a stationary stream of rows
// and the lowest deciding p-value of the detector on the current windows,
// resolved below screenAlpha at least.
type nullProbe interface {
	rows(rng *rand.Rand, ring *SliceRing, n int)
	minP(windows []Window) float64
}

type featureProbe struct {
	f      *Feature
	stream *NullStream
}

func (p *featureProbe) rows(rng *rand.Rand, ring *SliceRing, n int) { p.stream.Rows(rng, ring, n) }

func (p *featureProbe) minP(windows []Window) float64 {
	p.f.score(windows)
	return p.f.eval.MinP
}

// Onsets at the target rate a simulation asks for, within the tick budget:
// a performance class is one cheap test per window, so it affords more.
const (
	featureOnsets     = 50
	performanceOnsets = 200
)

// fitLevels runs probe's stationary stream at rowsPerTick (fractional rates
// are spread over ticks) through a slice ring of cells cells and the alarm
// state machine at each level α_j, for enough ticks to expect onsets alarm
// onsets at the target (within the budget), and fits cal.Alpha. cal.K must
// be set.
func (c *Calibrator) fitLevels(cal *Calibration, cells int, rowsPerTick float64, onsets int, probe nullProbe) {
	o := c.opts
	tau := o.Every.Seconds()
	target := o.FalseAlarmRate.PerSecond()
	cal.UnionAlpha = target * tau / float64(cal.K)

	ks := make([]int, len(o.Windows))
	for i := range ks {
		ks[i] = o.WindowSlices(i)
	}
	tps := o.TicksPerSlice()
	safeTarget := target / o.Calibration.Safety
	need := int(math.Ceil(float64(onsets)/(safeTarget*tau))) + 1
	ticks := min(o.Calibration.Ticks, max(need, 1000))
	warm := ks[len(ks)-1] * tps

	ring := NewSliceRing(cells, ks)
	rng := rand.New(rand.NewPCG(o.Calibration.Seed, 0x64726966746361))
	// One state machine per level α_j, fed the signal the detector would
	// see at that level: its drift onsets are the false alarms to count.
	var events [numLevels]int
	var mach [numLevels]Machine
	var alphas [numLevels]float64
	for j := range mach {
		mach[j] = NewMachine(o.Hysteresis)
		mach[j].Step(time.Time{}, SignalClean)
		alphas[j] = levelAlpha(j)
	}
	var acc float64
	for t := range warm + ticks {
		acc += rowsPerTick
		n := int(acc)
		acc -= float64(n)
		probe.rows(rng, ring, n)
		ring.Flush()
		if t >= warm {
			m := probe.minP(ring.Windows())
			for j, a := range &alphas {
				st, changed := mach[j].Step(time.Time{}, levelSignal(m, a, &o))
				if changed && st == StateDrift {
					events[j]++
				}
			}
		}
		if (t+1)%tps == 0 {
			ring.Rotate()
		}
	}
	cal.Ticks = ticks
	cal.Simulated = time.Duration(ticks) * o.Every
	secs := cal.Simulated.Seconds()
	for j := range numLevels {
		cal.Levels = append(cal.Levels, LevelRate{Alpha: levelAlpha(j), Events: events[j], Rate: float64(events[j]) / secs})
		if events[j] == 0 {
			break
		}
	}
	cal.Alpha, cal.Slope, cal.Extrapolated = fitAlpha(cal.Levels, safeTarget, o.Calibration.MinEvents)
	cal.Alpha = min(max(cal.Alpha, cal.UnionAlpha), screenAlpha)
}

// levelSignal is the signal of an evaluation with lowest p-value m at level
// alpha. The probe resolves p-values below screenAlpha only; a higher m
// counts as clean, which makes recovery from drift (and so new onsets) no
// rarer than live: conservative.
func levelSignal(m, alpha float64, o *Options) Signal {
	switch {
	case m < alpha*o.StrongRatio:
		return SignalStrong
	case m < alpha:
		return SignalBreach
	case m < alpha*o.WarnRatio && m < screenAlpha:
		return SignalNear
	}
	return SignalClean
}

// fitAlpha finds the level whose onset rate is target. Levels run from high
// to low α. Among the levels with at least minEvents onsets it interpolates
// log-linearly when the target is bracketed; otherwise it extrapolates below
// the last reliable level with the log–log slope fitted over the two decades
// above it, clamped to [0.5, 1]. The onset rate falls more steeply at lower
// levels (alarm clusters shrink as the level rises), so the fitted slope
// overstates the rate there: the extrapolation is conservative. It returns
// 0 when no level is reliable (the caller then uses the union bound).
func fitAlpha(lv []LevelRate, target float64, minEvents int) (alpha, slope float64, extrapolated bool) {
	last := -1
	for j, l := range lv {
		if l.Events < minEvents {
			break
		}
		last = j
		if l.Rate <= target {
			if j == 0 {
				return l.Alpha, 1, false
			}
			a, b := lv[j-1], l
			s := (math.Log(a.Rate) - math.Log(b.Rate)) / (math.Log(a.Alpha) - math.Log(b.Alpha))
			la := math.Log(b.Alpha) + (math.Log(target)-math.Log(b.Rate))/s
			return math.Exp(la), s, false
		}
	}
	if last < 0 {
		return 0, 1, true
	}
	first := max(0, last-2*levelsPerDecade)
	var sx, sy, sxx, sxy, n float64
	for j := first; j <= last; j++ {
		x, y := math.Log(lv[j].Alpha), math.Log(lv[j].Rate)
		sx, sy, sxx, sxy, n = sx+x, sy+y, sxx+x*x, sxy+x*y, n+1
	}
	slope = 1
	if n >= 2 {
		slope = (n*sxy - sx*sy) / (n*sxx - sx*sx)
	}
	slope = min(max(slope, 0.5), 1)
	b := lv[last]
	la := math.Log(b.Alpha) - (math.Log(b.Rate)-math.Log(target))/slope
	return math.Exp(la), slope, true
}
