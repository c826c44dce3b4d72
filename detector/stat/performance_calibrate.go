package stat

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// perfKey is a performance class: the kind, the |error| cells, the
// reference error rate and the labelled rows per tick, the last two
// rounded to two significant digits.
type perfKey struct {
	numeric     bool
	cells       int
	errorRate   float64
	rowsPerTick float64
}

// maxPerformanceClasses bounds the cached performance calibrations; past
// it a class is simulated on every use and counted.
const maxPerformanceClasses = 64

// canonicalPerformanceM is the reference size simulated: the reference is
// taken as exact, as the feature classes take M = 10⁶; its sampling error
// enters the live test through n·M/(n+M).
const canonicalPerformanceM = 1 << 53

// PerformanceCalibration returns the calibration of ref's class, simulating
// it on first use: a stationary stream of labelled outcomes at the
// reference's error rate (or equiprobable |error| cells) at the labelled
// rows per tick the windows will see, through the windows, tests and alarm
// machine of a Performance.
func (c *Calibrator) PerformanceCalibration(ref PerformanceReference) (Calibration, error) {
	props, err := ref.validate()
	if err != nil {
		return Calibration{}, err
	}
	k := perfKey{numeric: ref.Numeric, rowsPerTick: c.defaultRowsPerTick()}
	if ref.Numeric {
		k.cells = len(props)
	} else {
		k.cells = 2
		k.errorRate = roundRate(ref.ErrorRate)
	}
	switch {
	case ref.LabelsPerSecond > 0:
		k.rowsPerTick = roundSignificant(ref.LabelsPerSecond * c.opts.Every.Seconds())
	case c.opts.Calibration.Rows > 0:
		k.rowsPerTick = float64(c.opts.Calibration.Rows)
	}
	c.mu.Lock()
	if c.perf == nil {
		c.perf = make(map[perfKey]*classEntry)
	}
	e := c.perf[k]
	if e == nil && len(c.perf) < maxPerformanceClasses {
		e = &classEntry{}
		c.perf[k] = e
	}
	c.mu.Unlock()
	if e == nil {
		c.perfUncached.Add(1)
		return c.simulatePerformance(k)
	}
	e.once.Do(func() { e.cal, e.err = c.simulatePerformance(k) })
	return e.cal, e.err
}

// UncachedPerformanceCalibrations returns how many performance
// calibrations were simulated without caching because the cache of
// maxPerformanceClasses classes was full.
func (c *Calibrator) UncachedPerformanceCalibrations() uint64 { return c.perfUncached.Load() }

// roundSignificant rounds x > 0 to two significant digits.
func roundSignificant(x float64) float64 {
	if !(x > 0) {
		return x
	}
	s := math.Pow(10, math.Floor(math.Log10(x))-1)
	return math.Round(x/s) * s
}

// roundRate rounds a rate in (0, 1) to two significant digits of itself or
// of its complement, whichever is smaller, so that it stays in (0, 1).
func roundRate(p float64) float64 {
	if p > 0.5 {
		return 1 - roundSignificant(1-p)
	}
	return roundSignificant(p)
}

func (c *Calibrator) simulatePerformance(k perfKey) (Calibration, error) {
	start := time.Now()
	ref := PerformanceReference{Numeric: k.numeric, ErrorRate: k.errorRate, M: canonicalPerformanceM}
	if k.numeric {
		ref.AbsErrorProportions = make([]float64, k.cells)
		for i := range ref.AbsErrorProportions {
			ref.AbsErrorProportions[i] = 1
		}
	}
	probeOpts := c.opts
	probeOpts.WarnRatio = 1
	probeOpts.LazyPValues = true
	probe, err := newPerformance("calibration", &ref, &probeOpts, screenAlpha)
	if err != nil {
		return Calibration{}, fmt.Errorf("cannot simulate performance class %+v: %w", k, err)
	}
	cal := Calibration{Numeric: k.numeric, Cells: k.cells, K: probe.k}
	c.fitLevels(&cal, k.cells, k.rowsPerTick, performanceOnsets, &performanceProbe{p: probe, wins: make([]PerformanceWindow, len(c.opts.Windows))})
	cal.Elapsed = time.Since(start)
	return cal, nil
}

// performanceProbe draws stationary labelled outcomes into a slice ring
// (classification: cell 0 right, cell 1 wrong; regression: equiprobable
// |error| cells) and scores its windows.
type performanceProbe struct {
	p    *Performance
	wins []PerformanceWindow
}

func (pp *performanceProbe) rows(rng *rand.Rand, ring *SliceRing, n int) {
	t := ring.Tick()
	if !pp.p.numeric {
		p0 := pp.p.p0
		for range n {
			if rng.Float64() < p0 {
				t[1]++
			} else {
				t[0]++
			}
		}
		return
	}
	c := len(pp.p.mid)
	for range n {
		t[rng.IntN(c)]++
	}
}

func (pp *performanceProbe) minP(windows []Window) float64 {
	for i := range windows {
		cells := windows[i].Cells
		if pp.p.numeric {
			pp.wins[i].AbsErrorCells = cells
		} else {
			pp.wins[i].N, pp.wins[i].Errors = cells[0]+cells[1], cells[1]
		}
	}
	pp.p.score(pp.wins)
	return pp.p.eval.MinP
}
