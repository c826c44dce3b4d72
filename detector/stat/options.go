package stat

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Test names one statistic of a window.
type Test uint8

// Tests computed on a window.
const (
	// TestKS is the binned Kolmogorov–Smirnov distance (numeric).
	TestKS Test = iota
	// TestG is the two-sample G-test statistic.
	TestG
	// TestChi2 is the two-sample Pearson χ² statistic.
	TestChi2
	// TestPSI is the population stability index.
	TestPSI
	// TestJS is the Jensen–Shannon distance, base 2.
	TestJS
	// TestWasserstein is the normalised 1-Wasserstein distance (numeric).
	TestWasserstein
	// TestLInf is the largest difference of cell proportions.
	TestLInf
	// TestMissing is the share of missing values.
	TestMissing
	// TestInvalid is the share of unparseable values.
	TestInvalid
	// TestOutOfRange is the share of numeric values outside the reference
	// range.
	TestOutOfRange
	// TestUnseen is the share of categorical values the reference never saw.
	TestUnseen
	// TestErrorRate is the error rate of labelled outcomes (Performance,
	// classification).
	TestErrorRate
	// TestAbsError is P(a window |error| exceeds a reference one), the
	// binned Mann–Whitney statistic (Performance, regression).
	TestAbsError
	// NumTests is the number of tests.
	NumTests
	// TestNone marks the absence of a test.
	TestNone Test = 255
)

var testNames = [...]string{"ks", "g", "chi2", "psi", "js", "wasserstein", "linf", "missing_rate", "invalid_rate", "out_of_range_rate", "unseen_rate", "error_rate", "abs_error"}

// String returns the test's label value, such as "ks" or "missing_rate".
func (t Test) String() string {
	if int(t) < len(testNames) {
		return testNames[t]
	}
	return "none"
}

// TestSet is a set of tests.
type TestSet uint16

// Has reports whether t is in s.
func (s TestSet) Has(t Test) bool { return t < NumTests && s&(1<<t) != 0 }

// Tests returns the set of the given tests.
func Tests(ts ...Test) TestSet {
	var s TestSet
	for _, t := range ts {
		s |= 1 << t
	}
	return s
}

// Test sets.
var (
	// AutoNumeric are the deciding tests of numeric features for
	// "tests: auto": binned KS, G-test, PSI and the missing, invalid and
	// out-of-range rates.
	AutoNumeric = Tests(TestKS, TestG, TestPSI, TestMissing, TestInvalid, TestOutOfRange)
	// AutoCategorical are the deciding tests of categorical features for
	// "tests: auto": G-test, L∞ and the missing, invalid and unseen rates.
	AutoCategorical = Tests(TestG, TestLInf, TestMissing, TestInvalid, TestUnseen)
	// allNumeric and allCategorical are the tests reported per kind.
	allNumeric     = Tests(TestKS, TestG, TestChi2, TestPSI, TestJS, TestWasserstein, TestLInf, TestMissing, TestInvalid, TestOutOfRange)
	allCategorical = Tests(TestG, TestChi2, TestPSI, TestJS, TestLInf, TestMissing, TestInvalid, TestUnseen)
	// pvalueTests are the tests that have a p-value and can decide.
	pvalueTests = Tests(TestKS, TestG, TestChi2, TestPSI, TestLInf, TestMissing, TestInvalid, TestOutOfRange, TestUnseen)
)

// Options configure the detector. The zero value of each field means its
// default (DefaultOptions).
type Options struct {
	// Windows are the window lengths, multiples of Slice; default 5m, 1h.
	// A window of k slices sums the current (partial) slice and the k−1
	// before it, as the sampler's State.Window does.
	Windows []time.Duration
	// Slice is the time-slice length of the counters; default 1m.
	Slice time.Duration
	// Every is the evaluation interval (the tick); Slice must be a multiple
	// of it; default 10s.
	Every time.Duration
	// FalseAlarmRate is the wall-clock rate of false drift alarms allowed
	// per feature on stationary traffic; default 1/30d.
	FalseAlarmRate Rate
	// MinSamples is the fewest values a window needs to be tested; fewer
	// mean insufficient_data, never ok; default 200.
	MinSamples uint64
	// Hysteresis configures confirmation and recovery.
	Hysteresis Hysteresis
	// WarnRatio: a p-value below α·WarnRatio is a near breach (warning);
	// default 100.
	WarnRatio float64
	// StrongRatio: a p-value below α·StrongRatio confirms drift at once;
	// default 0.01.
	StrongRatio float64
	// NumericTests and CategoricalTests are the deciding tests; zero means
	// AutoNumeric and AutoCategorical. Tests without a p-value (JS,
	// Wasserstein) are reported but never decide.
	NumericTests, CategoricalTests TestSet
	// LazyPValues computes a p-value only when its statistic passes the
	// warning threshold (reporting NaN otherwise), which makes a tick
	// several times cheaper. Decisions are the same.
	LazyPValues bool
	// Calibration tunes the threshold simulation.
	Calibration CalibrationOptions
}

// CalibrationOptions tune the simulation behind the thresholds.
type CalibrationOptions struct {
	// Ticks bounds the simulated evaluations per feature class; default
	// 200000 (23 days of 10 s ticks). The cost is about 2–4 µs per tick.
	Ticks int
	// Rows is the number of rows per tick of the simulated streams; zero
	// picks enough for 2000 values in the shortest window.
	Rows int
	// Seed seeds the PCG generator; the result is deterministic.
	Seed uint64
	// MinEvents is the fewest simulated alarm onsets a level needs to be
	// used in the fit; default 20.
	MinEvents int
	// Safety divides the target rate before the fit; default 1.25.
	Safety float64
}

// DefaultOptions returns the defaults: windows 5m and 1h of
// 1-minute slices, evaluated every 10 s, one false alarm per 30 days,
// 200 samples at least.
func DefaultOptions() Options {
	return Options{
		Windows:        []time.Duration{5 * time.Minute, time.Hour},
		Slice:          time.Minute,
		Every:          10 * time.Second,
		FalseAlarmRate: Rate{Events: 1, Per: 30 * 24 * time.Hour},
		MinSamples:     200,
		Hysteresis:     Hysteresis{Confirm: 2, Recover: 6},
		WarnRatio:      100,
		StrongRatio:    0.01,
		Calibration:    CalibrationOptions{Ticks: 200000, MinEvents: 20, Safety: 1.25},
	}
}

// ErrBadOptions is wrapped by the errors about unusable Options.
var ErrBadOptions = errors.New("detector: bad options")

// withDefaults fills zero fields and validates.
func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions()
	if len(o.Windows) == 0 {
		o.Windows = d.Windows
	}
	o.Windows = slices.Clone(o.Windows)
	if o.Slice == 0 {
		o.Slice = d.Slice
	}
	if o.Every == 0 {
		o.Every = d.Every
	}
	if o.FalseAlarmRate == (Rate{}) {
		o.FalseAlarmRate = d.FalseAlarmRate
	}
	if o.MinSamples == 0 {
		o.MinSamples = d.MinSamples
	}
	o.Hysteresis = o.Hysteresis.withDefaults()
	if o.WarnRatio == 0 {
		o.WarnRatio = d.WarnRatio
	}
	if o.StrongRatio == 0 {
		o.StrongRatio = d.StrongRatio
	}
	if o.NumericTests == 0 {
		o.NumericTests = AutoNumeric
	}
	if o.CategoricalTests == 0 {
		o.CategoricalTests = AutoCategorical
	}
	c := &o.Calibration
	if c.Ticks == 0 {
		c.Ticks = d.Calibration.Ticks
	}
	if c.MinEvents == 0 {
		c.MinEvents = d.Calibration.MinEvents
	}
	if c.Safety == 0 {
		c.Safety = d.Calibration.Safety
	}
	switch {
	case o.Every < time.Millisecond:
		return o, fmt.Errorf("cannot evaluate every %s: want at least 1ms: %w", o.Every, ErrBadOptions)
	case o.Slice%o.Every != 0:
		return o, fmt.Errorf("cannot use slice %s: want a multiple of evaluate_every %s: %w", o.Slice, o.Every, ErrBadOptions)
	case len(o.Windows) > 8:
		return o, fmt.Errorf("cannot use %d windows: want at most 8: %w", len(o.Windows), ErrBadOptions)
	case !(o.FalseAlarmRate.Events > 0 && o.FalseAlarmRate.Per > 0):
		return o, fmt.Errorf("cannot use false-alarm rate %v: %w", o.FalseAlarmRate, ErrBadOptions)
	case o.FalseAlarmRate.PerSecond()*o.Every.Seconds() >= 0.01:
		return o, fmt.Errorf("cannot use false-alarm rate %v: more than one per 100 evaluations: %w", o.FalseAlarmRate, ErrBadOptions)
	case !(o.WarnRatio >= 1) || !(o.StrongRatio > 0 && o.StrongRatio <= 1):
		return o, fmt.Errorf("cannot use warn ratio %v and strong ratio %v: want ≥ 1 and (0, 1]: %w", o.WarnRatio, o.StrongRatio, ErrBadOptions)
	case c.Ticks < 1000 || c.Rows < 0 || c.MinEvents < 2 || c.Safety < 1:
		return o, fmt.Errorf("cannot use calibration options %+v: %w", *c, ErrBadOptions)
	}
	for i, w := range o.Windows {
		if w <= 0 || w%o.Slice != 0 {
			return o, fmt.Errorf("cannot use window %s: want a positive multiple of slice %s: %w", w, o.Slice, ErrBadOptions)
		}
		if i > 0 && w <= o.Windows[i-1] {
			return o, fmt.Errorf("cannot use window %s after %s: want increasing windows: %w", w, o.Windows[i-1], ErrBadOptions)
		}
	}
	return o, nil
}

// TicksPerSlice returns Slice/Every.
func (o *Options) TicksPerSlice() int { return int(o.Slice / o.Every) }

// WindowSlices returns the length of window i in slices.
func (o *Options) WindowSlices(i int) int { return int(o.Windows[i] / o.Slice) }
