package stat

import (
	"math"
)

// ErrorRateResult is the one-sided comparison of a canary's error rate with
// the live arm's.
type ErrorRateResult struct {
	// Canary and Live are the observed error rates; Diff = Canary − Live.
	Canary, Live, Diff float64
	// Z and PValue test H0: p_canary − p_live ≤ maxIncrease against
	// H1: the canary is worse by more than maxIncrease.
	Z, PValue float64
	// Breach reports PValue < alpha.
	Breach bool
}

// CompareErrorRates is a one-sided two-proportion z-test (canary worse).
// With maxIncrease = 0 it is the pooled test of p_c ≤ p_l; with
// maxIncrease > 0 it tests p_c − p_l ≤ maxIncrease with the unpooled
// standard error. Either arm with no requests gives PValue 1.
func CompareErrorRates(canaryErrors, canaryN, liveErrors, liveN uint64, maxIncrease, alpha float64) ErrorRateResult {
	r := ErrorRateResult{Canary: math.NaN(), Live: math.NaN(), Diff: math.NaN(), Z: math.NaN(), PValue: 1}
	if canaryN == 0 || liveN == 0 || canaryErrors > canaryN || liveErrors > liveN {
		return r
	}
	nc, nl := float64(canaryN), float64(liveN)
	pc, pl := float64(canaryErrors)/nc, float64(liveErrors)/nl
	r.Canary, r.Live, r.Diff = pc, pl, pc-pl
	var se float64
	if maxIncrease == 0 {
		pp := (float64(canaryErrors) + float64(liveErrors)) / (nc + nl)
		se = math.Sqrt(pp * (1 - pp) * (1/nc + 1/nl))
	} else {
		se = math.Sqrt(pc*(1-pc)/nc + pl*(1-pl)/nl)
	}
	d := r.Diff - maxIncrease
	switch {
	case se > 0:
		r.Z = d / se
	case d > 0:
		r.Z = math.Inf(1)
	default:
		r.Z = math.Inf(-1)
	}
	r.PValue = 0.5 * math.Erfc(r.Z/math.Sqrt2)
	r.Breach = r.PValue < alpha
	return r
}

// LatencyResult compares p99 latencies.
type LatencyResult struct {
	// Ratio is canary p99 / live p99; NaN when live p99 is not positive.
	Ratio float64
	// Breach reports Ratio > maxRatio.
	Breach bool
}

// CompareLatency checks the canary's p99 latency against maxRatio times the
// live arm's (max_latency_p99_ratio).
func CompareLatency(canaryP99, liveP99, maxRatio float64) LatencyResult {
	if !(liveP99 > 0) || math.IsNaN(canaryP99) {
		return LatencyResult{Ratio: math.NaN()}
	}
	r := canaryP99 / liveP99
	return LatencyResult{Ratio: r, Breach: r > maxRatio}
}

// TwoSampleResult compares two binned samples, such as the canary's and the
// live arm's prediction counts in the same cells.
type TwoSampleResult struct {
	// NLive and NCanary are the sample sizes.
	NLive, NCanary uint64
	// G and Chi2 are the contingency statistics with DF degrees of freedom
	// and their p-values.
	G, GPValue, Chi2, Chi2PValue float64
	DF                           int
	// KS is the binned KS distance (numeric only; NaN otherwise) and
	// KSPValue its p-value with both sample sizes (Hunter–Worsley bound).
	KS, KSPValue float64
	// PSI, JS and LInf are the distances, with live as the reference.
	PSI, JS, LInf float64
	// PValue is the lowest deciding p-value (G, and KS when numeric) times
	// the number of deciding tests, capped at 1; Breach is PValue < alpha.
	PValue float64
	Breach bool
}

// CompareCounts runs the two-sample tests with live as the reference. Both
// arms are samples, so the contingency form counts both sizes and the KS
// bound uses √(1/n_live + 1/n_canary) with the pooled CDF. It allocates
// two small slices.
func CompareCounts(live, canary []uint64, numeric bool, alpha float64) TwoSampleResult {
	r := TwoSampleResult{KS: math.NaN(), KSPValue: math.NaN(), PValue: 1}
	if len(live) != len(canary) || len(live) < 2 {
		r.G, r.GPValue, r.Chi2, r.Chi2PValue, r.PSI, r.JS, r.LInf = math.NaN(), 1, math.NaN(), 1, math.NaN(), math.NaN(), math.NaN()
		return r
	}
	a, b := make([]float64, len(live)), make([]float64, len(live))
	for i := range live {
		a[i], b[i] = float64(live[i]), float64(canary[i])
		r.NLive += live[i]
		r.NCanary += canary[i]
	}
	r.G, r.DF = Contingency(a, b, LogLikelihood)
	r.GPValue = ContingencyPValue(r.G, r.DF)
	r.Chi2, _ = Contingency(a, b, Pearson)
	r.Chi2PValue = ContingencyPValue(r.Chi2, r.DF)
	r.PSI, r.JS, r.LInf = PSI(a, b), JensenShannon(a, b), LInf(a, b)
	r.PValue = r.GPValue
	if numeric && r.NLive > 0 && r.NCanary > 0 {
		r.KS = BinnedKS(a, b)
		tot := float64(r.NLive + r.NCanary)
		pooled := make([]float64, len(a))
		for i := range a {
			pooled[i] = (a[i] + b[i]) / tot
		}
		s := math.Sqrt(1/float64(r.NLive) + 1/float64(r.NCanary))
		tail := newKSTail(pooled, false)
		r.KSPValue = tail.sf(r.KS / s)
		r.PValue = min(1, 2*min(r.GPValue, r.KSPValue))
	}
	r.Breach = r.PValue < alpha
	return r
}
