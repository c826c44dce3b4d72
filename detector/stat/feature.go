package stat

import (
	"fmt"
	"math"
	"time"
)

// Stat is one test on one window.
type Stat struct {
	// Value is the statistic (a rate for the rate tests). NaN when the test
	// was not computed.
	Value float64
	// PValue is the p-value; NaN where undefined (JS, Wasserstein), not
	// computed (window below MinSamples) or skipped (LazyPValues).
	PValue float64
	// Threshold is the value above which the test breaches at the
	// calibrated level α for this window's n; NaN where undefined.
	Threshold float64
	// Breach reports a deciding test with PValue < α.
	Breach bool
}

// WindowResult holds the tests of one window.
type WindowResult struct {
	// Window is the window length.
	Window time.Duration
	// N is the number of valid values; Total adds missing and invalid.
	N, Total uint64
	// Tested reports N ≥ MinSamples: the distribution tests ran.
	Tested bool
	// Stats are indexed by Test.
	Stats [NumTests]Stat
	// MinP is the lowest p-value of the deciding tests (1 if none).
	MinP float64
	// Worst is the deciding test with MinP, or TestNone.
	Worst Test
}

// Evaluation is the result of one Feature.Evaluate.
type Evaluation struct {
	At      time.Time
	State   State
	Signal  Signal
	Windows []WindowResult
	// MinP is the lowest deciding p-value over the windows, and Window its
	// index (−1 if none).
	MinP   float64
	Window int
	// PValue is min(1, K·MinP), with K the number of deciding tests times
	// windows: a valid p-value of "no drift in this feature" at this
	// evaluation, for dataset-level corrections.
	PValue float64
}

// levels are the thresholds of the tests at one significance level.
type levels struct {
	alpha float64
	ksU   float64   // binned KS: D > ksU·√(1/n + 1/M)
	chi2  []float64 // G and Pearson: stat > chi2[df]
	psiQ  float64   // PSI > psiQ·(1/n + 1/M)
	linfZ float64   // L∞ > linfZ·√(vmax·(1/n + 1/M))
}

func newLevels(alpha float64, cells int, ks *ksTail) levels {
	alpha = min(alpha, 1)
	lv := levels{alpha: alpha, chi2: make([]float64, cells)}
	for df := 1; df < cells; df++ {
		lv.chi2[df] = Chi2ISF(df, alpha)
	}
	lv.psiQ = lv.chi2[cells-1]
	if ks.sig != nil {
		lv.ksU = ks.isf(alpha)
	}
	lv.linfZ = normalTwoSidedISF(alpha / float64(cells))
	return lv
}

// rateTest is a one-sided binomial test of a rate against the reference.
type rateTest struct {
	p0 float64
	// logN and crit are the n grid (log2 n) and the critical rates k*(n)/n
	// at α, where k* is the smallest count with P(X ≥ k*) < α.
	crit []float64
}

const rateGridMax = 36 // grid n = 2^0 .. 2^36

func newRateTest(p0, alpha float64) rateTest {
	rt := rateTest{p0: p0, crit: make([]float64, rateGridMax+1)}
	for g := range rt.crit {
		n := uint64(1) << g
		lo, hi := uint64(float64(n)*p0), n+1
		for lo < hi { // smallest k with SF(k) < alpha
			mid := lo + (hi-lo)/2
			if BinomialSF(mid, n, p0) < alpha {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		rt.crit[g] = float64(lo) / float64(n)
	}
	return rt
}

// threshold interpolates the critical rate over the n grid (linear in
// log2 n). It is for reporting; decisions use the exact tail.
func (rt *rateTest) threshold(n uint64) float64 {
	if n == 0 {
		return math.NaN()
	}
	x := math.Log2(float64(n))
	g := int(x)
	if g >= rateGridMax {
		return rt.crit[rateGridMax]
	}
	f := x - float64(g)
	return rt.crit[g]*(1-f) + rt.crit[g+1]*f
}

// Feature evaluates the windows of one feature and runs its alarm state
// machine. It is not safe for concurrent use: one goroutine (the detector
// ticker) owns it.
type Feature struct {
	name     string
	opts     *Options
	numeric  bool
	props    []float64 // normalised reference proportions
	refCnt   []float64 // props·M
	ks       ksTail    // numeric: null tail of the binned KS statistic
	edges    []float64
	lo, hi   float64
	std      float64
	m        float64
	vmax     float64
	other    int
	tests    TestSet // computed
	deciding TestSet
	k        int
	alpha    float64
	breach   levels
	screen   levels // at α·WarnRatio: p-values are needed above these
	rates    [NumTests]rateTest
	cur      []float64
	mach     Machine
	eval     Evaluation
}

// newFeature builds a feature evaluating at per-evaluation level alpha.
func newFeature(name string, ref *Reference, opts *Options, alpha float64) (*Feature, error) {
	props, err := ref.validate()
	if err != nil {
		return nil, fmt.Errorf("cannot use reference of feature %q: %w", name, err)
	}
	c := len(props)
	f := &Feature{
		name: name, opts: opts, numeric: ref.Numeric, props: props,
		refCnt: make([]float64, c), cur: make([]float64, c),
		edges: ref.Edges, lo: ref.Min, hi: ref.Max, std: ref.Std,
		m: float64(ref.M), other: ref.OtherCell, alpha: alpha,
		mach: NewMachine(opts.Hysteresis),
	}
	for i, p := range props {
		f.refCnt[i] = p * f.m
		f.vmax = max(f.vmax, p*(1-p))
	}
	if ref.Numeric {
		f.ks = newKSTail(props, true)
		f.tests, f.deciding = allNumeric, opts.NumericTests&allNumeric&pvalueTests
	} else {
		f.tests, f.deciding = allCategorical, opts.CategoricalTests&allCategorical&pvalueTests
	}
	for t := range NumTests {
		if f.deciding.Has(t) {
			f.k++
		}
	}
	f.k *= len(opts.Windows)
	f.breach = newLevels(alpha, c, &f.ks)
	f.screen = newLevels(alpha*opts.WarnRatio, c, &f.ks)
	oor := ref.OutOfRangeRate
	if oor == 0 {
		oor = 2 / (f.m + 1)
	}
	for t, r := range map[Test]float64{TestMissing: ref.MissingRate, TestInvalid: ref.InvalidRate, TestOutOfRange: oor, TestUnseen: ref.UnseenRate} {
		if f.tests.Has(t) {
			f.rates[t] = newRateTest(rateFloor(r, ref.M), alpha)
		}
	}
	f.eval.Windows = windowResults(opts)
	return f, nil
}

// windowResults returns one result per configured window.
func windowResults(opts *Options) []WindowResult {
	w := make([]WindowResult, len(opts.Windows))
	for i := range w {
		w[i].Window = opts.Windows[i]
	}
	return w
}

// Name returns the feature name.
func (f *Feature) Name() string { return f.name }

// Alpha returns the calibrated per-evaluation level α of each deciding test.
func (f *Feature) Alpha() float64 { return f.alpha }

// Deciding returns the deciding tests.
func (f *Feature) Deciding() TestSet { return f.deciding }

// State returns the current alarm state.
func (f *Feature) State() State { return f.mach.State() }

// Last returns the last evaluation. It is overwritten by the next Evaluate.
func (f *Feature) Last() *Evaluation { return &f.eval }

// Evaluate tests the windows (one per configured window, in the same order)
// at time now and steps the state machine. It returns the evaluation, valid
// until the next call, and an event when the state changed. It does not
// allocate.
func (f *Feature) Evaluate(now time.Time, windows []Window) (*Evaluation, Event, bool) {
	f.score(windows)
	ev, changed := stepEvaluation(&f.mach, &f.eval, f.name, now)
	return &f.eval, ev, changed
}

// score computes the tests of every window and the evaluation's signal.
func (f *Feature) score(windows []Window) {
	e := &f.eval
	e.MinP, e.Window = 1, -1
	all := true
	for i := range e.Windows {
		w := &e.Windows[i]
		if i >= len(windows) || len(windows[i].Cells) != len(f.props) {
			untested(w)
			all = false
			continue
		}
		f.scoreWindow(&windows[i], w)
		all = all && w.Tested
		if w.MinP < e.MinP {
			e.MinP, e.Window = w.MinP, i
		}
	}
	e.PValue = min(1, float64(f.k)*e.MinP)
	e.Signal = signalOf(e.MinP, f.alpha, all, f.opts)
}

var nan = math.NaN()

// untested clears a window result: nothing computed, nothing breached.
func untested(w *WindowResult) {
	w.N, w.Total, w.Tested, w.MinP, w.Worst = 0, 0, false, 1, TestNone
	for t := range w.Stats {
		w.Stats[t] = Stat{Value: nan, PValue: nan, Threshold: nan}
	}
}

func (f *Feature) scoreWindow(win *Window, w *WindowResult) {
	untested(w)
	n := win.Valid()
	w.N, w.Total = n, n+win.Missing+win.Invalid
	minN := f.opts.MinSamples
	w.Tested = n >= minN
	if w.Total >= minN {
		f.rate(w, TestMissing, win.Missing, w.Total)
		f.rate(w, TestInvalid, win.Invalid, w.Total)
	}
	if !w.Tested {
		return
	}
	if f.numeric {
		f.rate(w, TestOutOfRange, win.Below+win.Above, n)
	} else {
		f.rate(w, TestUnseen, win.Unseen, n)
	}
	cur := f.cur
	for i, c := range win.Cells {
		cur[i] = float64(c)
	}
	last := len(cur) - 1
	if f.numeric {
		cur[0] += float64(win.Below)
		cur[last] += float64(win.Above)
	} else if f.other >= 0 {
		cur[f.other] += float64(win.Unseen)
	}
	nf := float64(n)
	v := 1/nf + 1/f.m
	sv := math.Sqrt(v)
	if f.tests.Has(TestKS) {
		d := BinnedKS(f.refCnt, cur)
		p := nan
		if !f.lazy() || d > f.screen.ksU*sv {
			p = f.ks.sf(d / sv)
		}
		f.set(w, TestKS, d, p, f.breach.ksU*sv)
	}
	if f.tests.Has(TestG) {
		g, df := Contingency(f.refCnt, cur, LogLikelihood)
		f.set(w, TestG, g, f.chi2P(TestG, g, df), f.breach.chi2[max(df, 1)])
	}
	if f.tests.Has(TestChi2) {
		x, df := Contingency(f.refCnt, cur, Pearson)
		f.set(w, TestChi2, x, f.chi2P(TestChi2, x, df), f.breach.chi2[max(df, 1)])
	}
	if f.tests.Has(TestPSI) {
		psi := PSI(f.refCnt, cur)
		p := nan
		if !f.lazy() || psi > f.screen.psiQ*v {
			p = ContingencyPValue(psi/v, last)
		}
		f.set(w, TestPSI, psi, p, f.breach.psiQ*v)
	}
	if f.tests.Has(TestJS) {
		ne := 1 / v
		f.set(w, TestJS, JensenShannon(f.refCnt, cur), nan, math.Sqrt(f.breach.psiQ/(8*math.Ln2*ne)))
	}
	if f.tests.Has(TestWasserstein) {
		f.set(w, TestWasserstein, Wasserstein(f.refCnt, cur, f.edges, f.lo, f.hi, f.std), nan, nan)
	}
	if f.tests.Has(TestLInf) {
		l := LInf(f.refCnt, cur)
		s := math.Sqrt(f.vmax * v)
		p := nan
		if !f.lazy() || l > f.screen.linfZ*s {
			p = min(1, float64(len(cur))*math.Erfc(l/(s*math.Sqrt2)))
		}
		f.set(w, TestLInf, l, p, f.breach.linfZ*s)
	}
}

// lazy reports whether p-values may be skipped below the screen level.
func (f *Feature) lazy() bool {
	return f.opts.LazyPValues
}

func (f *Feature) chi2P(t Test, stat float64, df int) float64 {
	if f.lazy() && !(df > 0 && stat > f.screen.chi2[df]) {
		return nan
	}
	return ContingencyPValue(stat, df)
}

func (f *Feature) rate(w *WindowResult, t Test, k, n uint64) {
	if !f.tests.Has(t) {
		return
	}
	rt := &f.rates[t]
	p := nan
	if !f.lazy() || chernoffSF(k, n, rt.p0) <= f.screen.alpha {
		p = BinomialSF(k, n, rt.p0)
	}
	f.set(w, t, float64(k)/float64(n), p, rt.threshold(n))
}

// set stores a statistic and folds a deciding p-value into the window's
// minimum. A NaN p-value (skipped) is above the screen level, so it never
// breaches.
func (f *Feature) set(w *WindowResult, t Test, value, p, thr float64) {
	s := &w.Stats[t]
	s.Value, s.PValue, s.Threshold = value, p, thr
	if !f.deciding.Has(t) || math.IsNaN(p) {
		return
	}
	s.Breach = p < f.alpha
	if p < w.MinP {
		w.MinP, w.Worst = p, t
	}
}

// Reset returns the state machine to insufficient_data, as after a
// reference or config change.
func (f *Feature) Reset() { f.mach = NewMachine(f.opts.Hysteresis) }

// FamilyAlpha is min(1, K·α): the level of Evaluation.PValue at which this
// feature alone breaches.
func (f *Feature) FamilyAlpha() float64 { return min(1, float64(f.k)*f.alpha) }
