package stat

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mathext"
)

// PerformanceReference is the reference performance of a model.
type PerformanceReference struct {
	// Numeric selects regression: the test of the |error| distribution;
	// otherwise classification: the test of the error rate.
	Numeric bool
	// ErrorRate is 1 − the reference accuracy, in (0, 1) (classification).
	ErrorRate float64
	// M is the number of labelled reference rows.
	M uint64
	// AbsErrorEdges are the C−1 inner edges of the |error| quantile bins,
	// increasing (regression; optional, for the caller's binning).
	AbsErrorEdges []float64
	// AbsErrorProportions are the C reference proportions of those bins
	// (regression); they are normalised to sum to 1.
	AbsErrorProportions []float64
	// LabelsPerSecond is the expected rate of labelled outcomes the windows
	// see; the calibration simulates it. Zero means Calibration.Rows per
	// tick when set, else enough for 2·MinSamples in the shortest window.
	LabelsPerSecond float64
}

// PerformanceWindow is one window of labelled outcomes.
type PerformanceWindow struct {
	// N and Errors are the labelled outcomes and the wrong ones
	// (classification).
	N, Errors uint64
	// AbsErrorCells are the |error| counts per reference cell (regression);
	// their sum is the window's number of outcomes.
	AbsErrorCells []uint64
}

// Performance tests each window's performance against the reference and
// runs the alarm state machine; see docs/drift-method.md. Only a worse
// window can breach: classification uses a one-sided binomial test of the
// error rate, regression a one-sided binned Mann–Whitney test of |error|.
// It is not safe for concurrent use: one goroutine owns it.
type Performance struct {
	name    string
	opts    *Options
	numeric bool
	test    Test
	alpha   float64
	k       int
	m       float64
	// classification
	p0   float64
	crit rateTest // critical rates at α, for reporting
	// regression
	refCnt []float64 // p_i·M
	mid    []float64 // F_i + p_i/2: the mid-distribution score of cell i
	zCrit  float64   // one-sided normal quantile at α
	mach   Machine
	eval   Evaluation
}

// NewPerformance builds the performance test of one model (a route's arm)
// with the calibrated level of its class.
func (c *Calibrator) NewPerformance(name string, ref PerformanceReference) (*Performance, error) {
	cal, err := c.PerformanceCalibration(ref)
	if err != nil {
		return nil, fmt.Errorf("cannot calibrate performance %q: %w", name, err)
	}
	return newPerformance(name, &ref, &c.opts, cal.Alpha)
}

// validate checks r and returns its |error| proportions normalised (nil
// for classification).
func (r *PerformanceReference) validate() ([]float64, error) {
	if r.M == 0 {
		return nil, fmt.Errorf("cannot use performance reference of 0 labelled rows: %w", ErrBadReference)
	}
	if !(r.LabelsPerSecond >= 0) || math.IsInf(r.LabelsPerSecond, 0) {
		return nil, fmt.Errorf("cannot use %v labels per second: %w", r.LabelsPerSecond, ErrBadReference)
	}
	if !r.Numeric {
		if !(r.ErrorRate > 0 && r.ErrorRate < 1) {
			return nil, fmt.Errorf("cannot use reference error rate %v: want (0, 1): %w", r.ErrorRate, ErrBadReference)
		}
		return nil, nil
	}
	ref := Reference{Numeric: true, Proportions: r.AbsErrorProportions, M: r.M, Edges: r.AbsErrorEdges}
	props, err := ref.validate()
	if err != nil {
		return nil, fmt.Errorf("cannot use |error| bins: %w", err)
	}
	return props, nil
}

// newPerformance builds a performance test at per-evaluation level alpha.
func newPerformance(name string, ref *PerformanceReference, opts *Options, alpha float64) (*Performance, error) {
	props, err := ref.validate()
	if err != nil {
		return nil, fmt.Errorf("cannot use performance reference %q: %w", name, err)
	}
	p := &Performance{
		name: name, opts: opts, numeric: ref.Numeric, alpha: alpha, k: len(opts.Windows),
		m: float64(ref.M), mach: NewMachine(opts.Hysteresis),
	}
	if ref.Numeric {
		p.test = TestAbsError
		p.refCnt = make([]float64, len(props))
		p.mid = make([]float64, len(props))
		var f float64
		for i, q := range props {
			p.refCnt[i] = q * p.m
			p.mid[i] = f + q/2
			f += q
		}
		p.zCrit = normalTwoSidedISF(2 * min(alpha, 0.5))
	} else {
		p.test = TestErrorRate
		p.p0 = ref.ErrorRate
		p.crit = newRateTest(p.p0, alpha)
	}
	p.eval.Windows = windowResults(opts)
	return p, nil
}

// Name returns the name given to NewPerformance.
func (p *Performance) Name() string { return p.name }

// Alpha returns the calibrated per-evaluation level α of each window's
// test.
func (p *Performance) Alpha() float64 { return p.alpha }

// State returns the current alarm state.
func (p *Performance) State() State { return p.mach.State() }

// Last returns the last evaluation. It is overwritten by the next Evaluate.
func (p *Performance) Last() *Evaluation { return &p.eval }

// Reset returns the state machine to insufficient_data, as after a
// reference or config change.
func (p *Performance) Reset() { p.mach = NewMachine(p.opts.Hysteresis) }

// Evaluate tests the windows (one per configured window, in the same order)
// at time now and steps the state machine, as Feature.Evaluate does. A
// window with fewer than MinSamples labelled outcomes is not tested
// (insufficient_data, never ok); a malformed one (Errors > N, or the wrong
// number of cells) is not tested either. It does not allocate.
func (p *Performance) Evaluate(now time.Time, windows []PerformanceWindow) (*Evaluation, Event, bool) {
	p.score(windows)
	ev, changed := stepEvaluation(&p.mach, &p.eval, p.name, now)
	return &p.eval, ev, changed
}

// score tests every window and sets the evaluation's signal.
func (p *Performance) score(windows []PerformanceWindow) {
	e := &p.eval
	e.MinP, e.Window = 1, -1
	all := true
	for i := range e.Windows {
		w := &e.Windows[i]
		untested(w)
		if i < len(windows) {
			p.scoreWindow(&windows[i], w)
		}
		all = all && w.Tested
		if w.MinP < e.MinP {
			e.MinP, e.Window = w.MinP, i
		}
	}
	e.PValue = min(1, float64(p.k)*e.MinP)
	e.Signal = signalOf(e.MinP, p.alpha, all, p.opts)
}

func (p *Performance) scoreWindow(win *PerformanceWindow, w *WindowResult) {
	var n uint64
	if p.numeric {
		if len(win.AbsErrorCells) != len(p.mid) {
			return
		}
		for _, c := range win.AbsErrorCells {
			n += c
		}
	} else {
		if win.Errors > win.N {
			return
		}
		n = win.N
	}
	w.N, w.Total = n, n
	if n < p.opts.MinSamples {
		return
	}
	w.Tested = true
	var value, pv, thr float64
	if p.numeric {
		value, pv, thr = p.absError(win.AbsErrorCells, float64(n))
	} else {
		value, pv, thr = p.errorRate(win.Errors, n)
	}
	s := &w.Stats[p.test]
	s.Value, s.PValue, s.Threshold = value, pv, thr
	if math.IsNaN(pv) {
		return
	}
	s.Breach = pv < p.alpha
	w.MinP, w.Worst = pv, p.test
}

// effectiveN is n·M/(n + M): the sample size whose binomial variance is
// that of the difference of the window's rate and the reference's.
func (p *Performance) effectiveN(n float64) float64 { return n / (1 + n/p.m) }

// errorRate is the one-sided test of the error rate: the binomial tail
// P(X ≥ k) of Bin(n, p0), evaluated at the effective size n_e and count
// k·n_e/n so that the reference's own sampling error counts (exact as M
// grows). With LazyPValues the p-value is NaN while a lower bound on it is
// above the warning level.
func (p *Performance) errorRate(k, n uint64) (rate, pv, thr float64) {
	rate = float64(k) / float64(n)
	ne := p.effectiveN(float64(n))
	ke := rate * ne
	thr = p.crit.threshold(uint64(math.Round(ne)))
	if k == 0 {
		return rate, 1, thr
	}
	if p.opts.LazyPValues && binomialTailLower(rate, ne, p.p0) > p.alpha*p.opts.WarnRatio {
		return rate, nan, thr
	}
	return rate, mathext.RegIncBeta(ke, ne-ke+1, p.p0), thr
}

// binomialTailLower is a lower bound on the tail P(X ≥ x·n) of Bin(n, p),
// also at fractional n and x·n (the regularised incomplete beta function):
// half of Ash's bound exp(−n·KL(x ‖ p))/√(8n·x(1−x)) (Information Theory,
// lemma 4.7.2), with x(1−x) floored at 1/n; p^n at x = 1; 0 (no bound)
// below one count; and 1 ("maybe large") for x ≤ p. TestBinomialTailLower
// checks it against the exact tail on a dense grid.
func binomialTailLower(x, n, p float64) float64 {
	switch {
	case x <= p:
		return 1
	case x*n < 1:
		return 0
	case x >= 1:
		return math.Pow(p, n)
	}
	kl := x*math.Log(x/p) + (1-x)*math.Log((1-x)/(1-p))
	return math.Exp(-n*kl) / math.Sqrt(8*n*max(x*(1-x), 1/n)) / 2
}

// absError is the one-sided binned Mann–Whitney test of the window's
// |error| cells against the reference's: the statistic Û = P(window > ref)
// + ½·P(tie), its normal p-value with the tie-corrected variance of the
// pooled cells (scipy's mannwhitneyu, asymptotic, no continuity
// correction), and the Û above which it breaches at α.
func (p *Performance) absError(cells []uint64, n float64) (u, pv, thr float64) {
	bigN := n + p.m
	var sq3 float64
	for i, c := range cells {
		cf := float64(c)
		u += cf * p.mid[i]
		q := (p.refCnt[i] + cf) / bigN
		sq3 += q * q * q
	}
	u /= n
	v := ((bigN + 1) - (bigN*bigN*sq3-1)/(bigN-1)) / (12 * n * p.m)
	if !(v > 0) {
		return u, 1, nan
	}
	sd := math.Sqrt(v)
	z := (u - 0.5) / sd
	return u, 0.5 * math.Erfc(z/math.Sqrt2), 0.5 + p.zCrit*sd
}
