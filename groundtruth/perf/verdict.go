package perf

import (
	"fmt"
	"math"
)

// Verdict is the outcome of a champion/challenger comparison.
type Verdict uint8

// Verdicts.
const (
	InsufficientData Verdict = iota
	NotBetter
	BetterByMargin
	Worse
)

var verdictNames = [...]string{"insufficient_data", "not_better", "better_by_margin", "worse"}

// String is the verdict's label value: "insufficient_data", "not_better",
// "better_by_margin" or "worse".
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return fmt.Sprintf("Verdict(%d)", v)
}

// Verdict defaults.
const (
	DefaultMargin = 0.02
	DefaultAlpha  = 0.05
	DefaultMinN   = 200
)

// VerdictOptions set the bar a challenger must clear. A zero field takes
// its default: Margin 0.02, Alpha 0.05, MinN 200.
type VerdictOptions struct {
	// Margin is the improvement required: absolute accuracy for
	// classification, a fraction of the champion's MAE for Numeric.
	Margin float64
	// Alpha is the level of the no-difference test and of the one-sided
	// lower confidence bound.
	Alpha float64
	// MinN is the fewest outcomes (pairs, or outcomes of each arm) judged.
	MinN uint64
}

// WithDefaults fills the zero fields and checks the others: Margin in
// [0, 1), Alpha in (0, 0.5].
func (o VerdictOptions) WithDefaults() (VerdictOptions, error) {
	o = o.filled()
	if !(o.Margin >= 0 && o.Margin < 1) {
		return o, fmt.Errorf("margin: must be in [0, 1), got %v", o.Margin)
	}
	if !(o.Alpha > 0 && o.Alpha <= 0.5) {
		return o, fmt.Errorf("alpha: must be in (0, 0.5], got %v", o.Alpha)
	}
	return o, nil
}

func (o VerdictOptions) filled() VerdictOptions {
	if o.Margin == 0 {
		o.Margin = DefaultMargin
	}
	if o.Alpha == 0 {
		o.Alpha = DefaultAlpha
	}
	if o.MinN == 0 {
		o.MinN = DefaultMinN
	}
	return o
}

// VerdictResult is a verdict with the figures behind it.
type VerdictResult struct {
	Verdict Verdict
	// Metric is the primary metric: "accuracy" or "mae".
	Metric string
	// Champion and Challenger are each arm's primary metric.
	Champion, Challenger float64
	// Difference is challenger − champion in the better direction: the
	// accuracy gain, or the MAE reduction.
	Difference float64
	// Lower is the one-sided (1−Alpha) lower confidence bound of Difference.
	Lower float64
	// PValue is that of "no difference": McNemar exact or paired t for
	// pairs, two proportions or Welch for unpaired arms.
	PValue float64
	// N is the number of pairs, or the smaller arm's outcomes.
	N uint64
}

// PairedVerdict judges a challenger that answered the same requests as the
// champion (a shadow against live):
//   - fewer than MinN pairs: insufficient_data;
//   - the no-difference test rejects at Alpha and the challenger is worse:
//     worse;
//   - it rejects, the challenger is better, and Lower ≥ Margin (numeric:
//     Lower ≥ Margin·champion MAE): better_by_margin;
//   - otherwise not_better.
//
// Classification: McNemar's exact test on B and C; Difference = (C−B)/N
// with variance ((B+C)/N − Difference²)/N and a normal bound. Numeric: the
// paired t test on d = |e_champion| − |e_challenger| and its t bound.
func PairedVerdict(s *Spec, p *PairCounts, o VerdictOptions) VerdictResult {
	o = o.filled()
	n := float64(p.N)
	r := VerdictResult{N: p.N, PValue: 1}
	if s.Kind.classification() {
		r.Metric = "accuracy"
		r.Champion, r.Challenger = float64(p.Both+p.B)/n, float64(p.Both+p.C)/n
		r.Difference = (float64(p.C) - float64(p.B)) / n
		se := math.Sqrt(max(0, (float64(p.B+p.C)/n-r.Difference*r.Difference)/n))
		r.Lower = r.Difference - normalQuantile(o.Alpha)*se
		r.PValue = McNemarExact(p.B, p.C)
		return decide(r, o, o.Margin)
	}
	r.Metric = "mae"
	r.Champion, r.Challenger = p.ChampionAbs/n, p.ChallengerAbs/n
	mean, se, df := meanSE(p.N, p.SumD, p.SumD2)
	r.Difference = mean
	if df > 0 {
		_, r.PValue = PairedMeanTest(p.N, p.SumD, p.SumD2)
		r.Lower = mean - studentQuantile(o.Alpha, df)*se
	} else {
		r.Lower = math.NaN()
	}
	return decide(r, o, o.Margin*r.Champion)
}

// UnpairedVerdict judges a challenger that answered other requests than
// the champion (a canary against live), with PairedVerdict's rules on the
// smaller arm's N. Classification: the pooled two-proportion test of the
// accuracies and the Wald bound of their difference. Numeric: Welch's test
// on the absolute errors and its bound with the Welch–Satterthwaite degrees
// of freedom. champion and challenger must be built for s.
func UnpairedVerdict(s *Spec, champion, challenger *Counts, o VerdictOptions) VerdictResult {
	o = o.filled()
	n1, n2 := champion.N(), challenger.N()
	r := VerdictResult{N: min(n1, n2), PValue: 1}
	f1, f2 := float64(n1), float64(n2)
	if s.Kind.classification() {
		r.Metric = "accuracy"
		k1, k2 := n1-champion.Errors(), n2-challenger.Errors()
		r.Champion, r.Challenger = float64(k1)/f1, float64(k2)/f2
		r.Difference = r.Challenger - r.Champion
		se := math.Sqrt(r.Champion*(1-r.Champion)/f1 + r.Challenger*(1-r.Challenger)/f2)
		r.Lower = r.Difference - normalQuantile(o.Alpha)*se
		_, r.PValue = TwoProportions(k2, n2, k1, n1)
		return decide(r, o, o.Margin)
	}
	r.Metric = "mae"
	abs1, sq1, _ := champion.ErrorSums()
	abs2, sq2, _ := challenger.ErrorSums()
	r.Champion, r.Challenger = abs1/f1, abs2/f2
	d, se, df := welch(n1, abs1, sq1, n2, abs2, sq2)
	r.Difference, r.Lower = d, math.NaN()
	if df > 0 {
		_, r.PValue = WelchTest(n1, abs1, sq1, n2, abs2, sq2)
		r.Lower = d - studentQuantile(o.Alpha, df)*se
	}
	return decide(r, o, o.Margin*r.Champion)
}

// decide applies the verdict rules to r's figures.
func decide(r VerdictResult, o VerdictOptions, margin float64) VerdictResult {
	switch {
	case r.N < o.MinN:
		r.Verdict = InsufficientData
	case r.PValue < o.Alpha && r.Difference < 0:
		r.Verdict = Worse
	case r.PValue < o.Alpha && r.Difference > 0 && r.Lower >= margin:
		r.Verdict = BetterByMargin
	default:
		r.Verdict = NotBetter
	}
	return r
}
