package perf

import (
	"math"

	"gonum.org/v1/gonum/mathext"

	"github.com/driftcar/driftcar/detector/stat"
)

// McNemarExact is the two-sided exact McNemar test of b against c
// discordant pairs: the binomial test of b successes in b+c trials at ½,
// equal to scipy.stats.binomtest(b, b+c, 0.5).pvalue. It is 1 when
// b+c = 0.
func McNemarExact(b, c uint64) float64 {
	if b == c {
		return 1
	}
	// The null is symmetric: P = 2·P(X ≥ max(b, c)).
	return min(1, 2*stat.BinomialSF(max(b, c), b+c, 0.5))
}

// TwoProportions is the two-sided pooled z test of k1/n1 against k2/n2:
// z = (p1 − p2)/√(p(1−p)(1/n1 + 1/n2)) with p = (k1+k2)/(n1+n2). Either
// n zero gives z NaN and p 1; equal proportions with no spread give z 0.
func TwoProportions(k1, n1, k2, n2 uint64) (z, p float64) {
	if n1 == 0 || n2 == 0 || k1 > n1 || k2 > n2 {
		return math.NaN(), 1
	}
	f1, f2 := float64(n1), float64(n2)
	d := float64(k1)/f1 - float64(k2)/f2
	pool := float64(k1+k2) / (f1 + f2)
	se := math.Sqrt(pool * (1 - pool) * (1/f1 + 1/f2))
	z = ratioZ(d, se)
	return z, math.Erfc(math.Abs(z) / math.Sqrt2)
}

// ratioZ is d/se, with 0/0 = 0 and d/0 = ±Inf.
func ratioZ(d, se float64) float64 {
	switch {
	case se > 0:
		return d / se
	case d == 0:
		return 0
	default:
		return math.Copysign(math.Inf(1), d)
	}
}

// PairedMeanTest is the two-sided one-sample t test of mean(d) = 0 from
// n, Σd and Σd², equal to scipy.stats.ttest_rel on the pairs whose
// differences are d. Fewer than two pairs give t NaN and p 1. The variance
// is Σd²/n − mean² scaled, so it loses precision when |mean| ≫ sd.
func PairedMeanTest(n uint64, sumD, sumD2 float64) (t, p float64) {
	mean, se, df := meanSE(n, sumD, sumD2)
	if df <= 0 {
		return math.NaN(), 1
	}
	t = ratioZ(mean, se)
	return t, studentTwoSided(t, df)
}

// meanSE is the mean, its standard error and the degrees of freedom of a
// sample from its sums.
func meanSE(n uint64, sum, sumSq float64) (mean, se, df float64) {
	if n < 2 {
		return math.NaN(), math.NaN(), 0
	}
	f := float64(n)
	mean = sum / f
	v := max(0, (sumSq-sum*mean)/(f-1))
	return mean, math.Sqrt(v / f), f - 1
}

// WelchTest is the two-sided Welch t test of mean1 = mean2 from each
// sample's n, Σx and Σx², equal to scipy.stats.ttest_ind(x1, x2,
// equal_var=False). t is positive when mean1 > mean2. A sample with fewer
// than two values gives t NaN and p 1; two constant samples give t 0 and
// p 1 when their means are equal, ±Inf and 0 otherwise.
func WelchTest(n1 uint64, sum1, sumSq1 float64, n2 uint64, sum2, sumSq2 float64) (t, p float64) {
	d, se, df := welch(n1, sum1, sumSq1, n2, sum2, sumSq2)
	if df == 0 {
		return math.NaN(), 1
	}
	t = ratioZ(d, se)
	return t, studentTwoSided(t, df)
}

// welch is mean1 − mean2, its standard error and the Welch–Satterthwaite
// degrees of freedom; df is 0 when a sample has fewer than two values.
func welch(n1 uint64, sum1, sumSq1 float64, n2 uint64, sum2, sumSq2 float64) (d, se, df float64) {
	m1, se1, df1 := meanSE(n1, sum1, sumSq1)
	m2, se2, df2 := meanSE(n2, sum2, sumSq2)
	if df1 == 0 || df2 == 0 {
		return math.NaN(), math.NaN(), 0
	}
	v1, v2 := se1*se1, se2*se2
	df = df1 + df2 // the limit when both spreads vanish
	if v1+v2 > 0 {
		df = (v1 + v2) * (v1 + v2) / (v1*v1/df1 + v2*v2/df2)
	}
	return m1 - m2, math.Sqrt(v1 + v2), df
}

// studentTwoSided is P(|T| > |t|) for T ~ Student's t with df degrees of
// freedom.
func studentTwoSided(t, df float64) float64 {
	switch {
	case t == 0 || math.IsNaN(t):
		return 1
	case math.IsInf(t, 0):
		return 0
	}
	return mathext.RegIncBeta(df/2, 0.5, df/(df+t*t))
}

// studentQuantile is the upper 1−alpha quantile of Student's t with df
// degrees of freedom (one-sided).
func studentQuantile(alpha, df float64) float64 {
	x := mathext.InvRegIncBeta(df/2, 0.5, 2*alpha)
	return math.Sqrt(df * (1 - x) / x)
}

// normalQuantile is the upper 1−alpha quantile of the standard normal.
func normalQuantile(alpha float64) float64 { return math.Sqrt2 * math.Erfcinv(2*alpha) }
