package stat

import (
	"math"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// This file holds the statistics on exact counts. They are plain functions
// on slices, allocate nothing, and are safe for concurrent use.

// Lambda selects the statistic of a contingency test, as scipy's lambda_.
type Lambda uint8

// Contingency statistics.
const (
	// LogLikelihood is the G-test: 2·Σ O·ln(O/E).
	LogLikelihood Lambda = iota
	// Pearson is Pearson's χ²: Σ (O−E)²/E.
	Pearson
)

// Contingency is the two-sample 2×C contingency test of a reference row
// ref and a current row cur: the statistic selected by lambda and its
// degrees of freedom. It equals scipy.stats.chi2_contingency([ref, cur],
// correction=False, lambda_=...) after dropping the columns where both rows
// are zero (scipy rejects them: their expected frequency is zero), so
// df = (number of non-zero columns) − 1. Reference counts may be
// fractional (p_ref·M). When a row sums to zero, or fewer than two columns
// are non-zero, there is nothing to compare: Contingency returns 0, 0 and
// ContingencyPValue(0, 0) is 1.
func Contingency(ref, cur []float64, lambda Lambda) (stat float64, df int) {
	var r1, r2 float64
	cols := 0
	for j := range ref {
		r1 += ref[j]
		r2 += cur[j]
		if ref[j]+cur[j] > 0 {
			cols++
		}
	}
	if r1 <= 0 || r2 <= 0 || cols < 2 {
		return 0, 0
	}
	n := r1 + r2
	f1, f2 := r1/n, r2/n
	for j := range ref {
		c := ref[j] + cur[j]
		if c <= 0 {
			continue
		}
		e1, e2 := f1*c, f2*c
		switch lambda {
		case Pearson:
			d1, d2 := ref[j]-e1, cur[j]-e2
			stat += d1*d1/e1 + d2*d2/e2
		default:
			stat += xlogy(ref[j], ref[j]/e1) + xlogy(cur[j], cur[j]/e2)
		}
	}
	if lambda != Pearson {
		stat *= 2
	}
	return stat, cols - 1
}

// ContingencyPValue is the χ² survival function P(χ²_df > stat); it is 1
// when df is 0.
func ContingencyPValue(stat float64, df int) float64 {
	if df <= 0 || !(stat > 0) {
		return 1
	}
	return distuv.ChiSquared{K: float64(df)}.Survival(stat)
}

// xlogy is x·ln(y) with 0·ln(y) = 0, as scipy.special.xlogy.
func xlogy(x, y float64) float64 {
	if x == 0 {
		return 0
	}
	return x * math.Log(y)
}

// BinnedKS is the Kolmogorov–Smirnov distance evaluated at the cell
// boundaries: max over i of |F_cur(i) − F_ref(i)|, where F(i) is the mass
// of cells 0..i−1, for i = 1..C−1. ref and cur are counts or proportions
// (each is normalised by its own sum). It is 0 when either sums to zero.
func BinnedKS(ref, cur []float64) float64 {
	var sr, sc float64
	for j := range ref {
		sr += ref[j]
		sc += cur[j]
	}
	if sr <= 0 || sc <= 0 {
		return 0
	}
	var fr, fc, d float64
	for j := 0; j < len(ref)-1; j++ {
		fr += ref[j]
		fc += cur[j]
		d = max(d, math.Abs(fc/sc-fr/sr))
	}
	return d
}

// PSI is the population stability index Σ (a_i − e_i)·ln(a_i/e_i) with
// Jeffreys-smoothed proportions a_i = (cur_i + 0.5)/(n + 0.5·C) and
// e_i = (ref_i + 0.5)/(M + 0.5·C), where n = Σ cur, M = Σ ref and C is the
// number of cells. ref holds reference counts (p_ref·M).
func PSI(ref, cur []float64) float64 {
	var m, n float64
	for j := range ref {
		m += ref[j]
		n += cur[j]
	}
	c := float64(len(ref))
	var psi float64
	for j := range ref {
		a := (cur[j] + 0.5) / (n + 0.5*c)
		e := (ref[j] + 0.5) / (m + 0.5*c)
		psi += (a - e) * math.Log(a/e)
	}
	return psi
}

// JensenShannon is the Jensen–Shannon distance with base-2 logarithms, in
// [0, 1], between the normalised rows ref and cur, as
// scipy.spatial.distance.jensenshannon(cur, ref, base=2). It is NaN when a
// row sums to zero.
func JensenShannon(ref, cur []float64) float64 {
	var sr, sc float64
	for j := range ref {
		sr += ref[j]
		sc += cur[j]
	}
	if sr <= 0 || sc <= 0 {
		return math.NaN()
	}
	var js float64
	for j := range ref {
		p, q := cur[j]/sc, ref[j]/sr
		m := (p + q) / 2
		if p > 0 {
			js += p * math.Log(p/m)
		}
		if q > 0 {
			js += q * math.Log(q/m)
		}
	}
	return math.Sqrt(max(js/2, 0) / math.Ln2)
}

// LInf is the largest absolute difference of cell proportions between the
// normalised rows ref and cur.
func LInf(ref, cur []float64) float64 {
	var sr, sc float64
	for j := range ref {
		sr += ref[j]
		sc += cur[j]
	}
	if sr <= 0 || sc <= 0 {
		return 0
	}
	var d float64
	for j := range ref {
		d = max(d, math.Abs(cur[j]/sc-ref[j]/sr))
	}
	return d
}

// Wasserstein is the 1-Wasserstein distance between the normalised rows,
// approximated from the CDFs at the edges and divided by std:
// Σ_i |F_cur(e_i) − F_ref(e_i)|·Δe_i / std for the C−1 inner edges e_i,
// where Δe_i = (e_{i+1} − e_{i−1})/2 with e_0 = lo and e_C = hi (the
// reference range). A lo or hi that is not finite is replaced by the
// nearest edge. It is NaN when std is not positive, the edges do not match
// the cells, or a row sums to zero.
func Wasserstein(ref, cur, edges []float64, lo, hi, std float64) float64 {
	c := len(ref)
	if !(std > 0) || len(edges) != c-1 || c < 2 {
		return math.NaN()
	}
	var sr, sc float64
	for j := range ref {
		sr += ref[j]
		sc += cur[j]
	}
	if sr <= 0 || sc <= 0 {
		return math.NaN()
	}
	if math.IsInf(lo, 0) || math.IsNaN(lo) || lo > edges[0] {
		lo = edges[0]
	}
	if math.IsInf(hi, 0) || math.IsNaN(hi) || hi < edges[c-2] {
		hi = edges[c-2]
	}
	var fr, fc, w float64
	for i := 1; i < c; i++ {
		fr += ref[i-1]
		fc += cur[i-1]
		prev, next := lo, hi
		if i > 1 {
			prev = edges[i-2]
		}
		if i < c-1 {
			next = edges[i]
		}
		w += math.Abs(fc/sc-fr/sr) * (next - prev) / 2
	}
	return w / std
}

// BinomialSF is the one-sided binomial tail P(X ≥ k) for X ~ Bin(n, p).
func BinomialSF(k, n uint64, p float64) float64 {
	switch {
	case k == 0:
		return 1
	case k > n:
		return 0
	case p <= 0:
		return 0
	case p >= 1:
		return 1
	}
	return mathext.RegIncBeta(float64(k), float64(n-k+1), p)
}

// chernoffSF is the Chernoff upper bound exp(−n·KL(k/n ‖ p)) on
// BinomialSF(k, n, p) for k/n > p, and 1 otherwise.
func chernoffSF(k, n uint64, p float64) float64 {
	if n == 0 || float64(k) <= float64(n)*p {
		return 1
	}
	x := float64(k) / float64(n)
	kl := x * math.Log(x/p)
	if x < 1 {
		kl += (1 - x) * math.Log((1-x)/(1-p))
	}
	return math.Exp(-float64(n) * kl)
}

// KolmogorovSF is the survival function of the Kolmogorov distribution,
// Q(λ) = 2·Σ_{j≥1} (−1)^{j−1}·exp(−2j²λ²): the asymptotic p-value of an
// exact KS test with √n_e·D = λ.
func KolmogorovSF(lambda float64) float64 {
	if lambda <= 0 {
		return 1
	}
	if lambda < 0.2 {
		return 1
	}
	var s float64
	sign := 1.0
	for j := 1; j <= 100; j++ {
		t := math.Exp(-2 * float64(j*j) * lambda * lambda)
		s += sign * t
		if t < 1e-17*s {
			break
		}
		sign = -sign
	}
	return min(1, max(0, 2*s))
}

// KolmogorovISF returns λ with KolmogorovSF(λ) = alpha.
func KolmogorovISF(alpha float64) float64 {
	return bisect(0.2, 40, func(x float64) bool { return KolmogorovSF(x) > alpha })
}

// Chi2ISF returns x with P(χ²_df > x) = alpha, by bisection on gonum's
// survival function (accurate far in the tail, unlike 1 − CDF).
func Chi2ISF(df int, alpha float64) float64 {
	d := distuv.ChiSquared{K: float64(df)}
	hi := float64(df) + 10
	for d.Survival(hi) > alpha && hi < 1e9 {
		hi *= 2
	}
	return bisect(0, hi, func(x float64) bool { return d.Survival(x) > alpha })
}

// bisect returns the boundary in [lo, hi] where below turns from true to
// false, for a monotone predicate.
func bisect(lo, hi float64, below func(float64) bool) float64 {
	for range 200 {
		mid := (lo + hi) / 2
		if mid == lo || mid == hi {
			break
		}
		if below(mid) {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo <= 1e-13*hi {
			break
		}
	}
	return (lo + hi) / 2
}

// edgeSigmas fills sig with √(F_i(1−F_i)) for the cumulative proportions F_i
// at the C−1 inner boundaries of props.
func edgeSigmas(props, sig []float64) []float64 {
	sig = sig[:0]
	var f float64
	for j := 0; j < len(props)-1; j++ {
		f += props[j]
		f = min(max(f, 0), 1)
		sig = append(sig, math.Sqrt(f*(1-f)))
	}
	return sig
}

// ksUnionSF is the union (Bonferroni over edges) bound on the null tail of
// the binned KS statistic: Σ_i P(|Z_i| > u/σ_i) with Z_i standard normal,
// where u = D/√(1/n + 1/M) and σ_i = √(F_i(1−F_i)). It is a valid upper
// bound on the asymptotic p-value of max_i |B(F_i)| for a Brownian bridge B,
// and smaller than the Kolmogorov tail of the unbinned statistic.
func ksUnionSF(u float64, sig []float64) float64 {
	var p float64
	for _, s := range sig {
		if s <= 0 {
			continue
		}
		p += math.Erfc(u / (s * math.Sqrt2))
	}
	return min(p, 1)
}

// normalTwoSidedISF returns z with P(|Z| > z) = alpha.
func normalTwoSidedISF(alpha float64) float64 {
	if alpha >= 1 {
		return 0
	}
	return math.Sqrt2 * math.Erfcinv(alpha)
}

// ksTail is the null tail of the binned KS statistic for given reference
// proportions: the Hunter–Worsley bound on P(max_i |B(F_i)| > u) for a
// Brownian bridge B at the cumulative proportions F_i of the inner
// boundaries, Σ_i P(|Z_i| > u/σ_i) − Σ_i P(|Z_i| > u/σ_i, |Z_{i+1}| > u/σ_{i+1}),
// with the correlation of neighbouring edges. It is a valid upper bound
// (conservative p-values), much tighter than the union bound because
// neighbouring edges are strongly correlated, and it is tabulated on a u
// grid so that a p-value costs one interpolation.
type ksTail struct {
	sig, rho []float64
	logSF    []float64 // at u = i·ksStep
}

const (
	ksStep   = 0.05
	ksPoints = 161 // u up to 8
)

// newKSTail prepares the bound for props, and its table when table is set.
func newKSTail(props []float64, table bool) ksTail {
	k := ksTail{sig: edgeSigmas(props, nil)}
	var f float64
	fs := make([]float64, 0, len(k.sig))
	for j := 0; j < len(props)-1; j++ {
		f += props[j]
		fs = append(fs, min(max(f, 0), 1))
	}
	k.rho = make([]float64, len(fs))
	for i := 0; i+1 < len(fs); i++ {
		s, t := fs[i], fs[i+1]
		if s > 0 && t < 1 && t > 0 && s < 1 {
			k.rho[i] = math.Sqrt(s * (1 - t) / (t * (1 - s)))
		}
	}
	if !table {
		return k
	}
	k.logSF = make([]float64, ksPoints)
	for i := range k.logSF {
		k.logSF[i] = math.Log(max(k.bound(float64(i)*ksStep), 1e-300))
	}
	return k
}

// bound evaluates the Hunter–Worsley bound at u.
func (k *ksTail) bound(u float64) float64 {
	if u <= 0 {
		return 1
	}
	var sum, best float64
	for i, s := range k.sig {
		if s <= 0 {
			continue
		}
		p := math.Erfc(u / (s * math.Sqrt2))
		sum += p
		best = max(best, p)
		if i+1 < len(k.sig) && k.sig[i+1] > 0 {
			sum -= bothExceed(u/s, u/k.sig[i+1], k.rho[i])
		}
	}
	return min(1, max(sum, best))
}

// sf returns the p-value of the standardised statistic u.
func (k *ksTail) sf(u float64) float64 {
	if u <= 0 {
		return 1
	}
	if k.logSF == nil {
		return k.bound(u)
	}
	x := u / ksStep
	i := int(x)
	if i >= ksPoints-1 {
		return ksUnionSF(u, k.sig)
	}
	f := x - float64(i)
	return min(1, math.Exp(k.logSF[i]*(1-f)+k.logSF[i+1]*f))
}

// isf returns u with sf(u) = alpha (on the exact bound, not the table).
func (k *ksTail) isf(alpha float64) float64 {
	return bisect(0, 40, func(u float64) bool { return k.bound(u) > alpha })
}

// bothExceed is P(|X| > a, |Y| > b) for standard normals with correlation
// rho: 2·(L(a, b, ρ) + L(a, b, −ρ)) with L the upper orthant probability.
func bothExceed(a, b, rho float64) float64 {
	if 1-rho*rho < 1e-6 {
		return math.Erfc(max(a, b) / math.Sqrt2)
	}
	return 2 * (upperOrthant(a, b, rho) + upperOrthant(a, b, -rho))
}

// upperOrthant is P(X > a, Y > b) = ∫_a^∞ φ(x)·Φ̄((b − ρx)/√(1−ρ²)) dx by
// Simpson's rule over [a, a+10], with a step fine enough for the slope
// ρ/√(1−ρ²) of the inner term.
func upperOrthant(a, b, rho float64) float64 {
	s := math.Sqrt(1 - rho*rho)
	n := int(32 * (1 + math.Abs(rho)/s))
	n = min(max(n+n%2, 32), 4096)
	h := 10 / float64(n)
	g := func(x float64) float64 {
		return math.Exp(-x*x/2) * math.Erfc((b-rho*x)/(s*math.Sqrt2)) / 2
	}
	sum := g(a) + g(a+10)
	for i := 1; i < n; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		sum += w * g(a+float64(i)*h)
	}
	return sum * h / 3 / math.Sqrt(2*math.Pi)
}
