package perf

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/driftcar/driftcar/internal/testutil"
)

// oracleScript computes, with scipy, what the tests of this package are
// checked against: binomtest for McNemar, the pooled two-proportion z test
// from the normal tail, ttest_rel, ttest_ind(equal_var=False), the exact
// AUC as Mann–Whitney U/(P·N), and the t and normal tails at our quantiles
// (scipy's t.ppf is itself a few 1e-9 off for small df; its sf is not).
const oracleScript = `
import json, sys
import numpy as np
from scipy import stats
c = json.load(open(sys.argv[1]))
out = {}
out["mcnemar"] = [stats.binomtest(b, b + k, 0.5).pvalue if b + k > 0 else 1.0 for b, k in c["mcnemar"]]
tp = []
for k1, n1, k2, n2 in c["twoprop"]:
    p1, p2, p = k1 / n1, k2 / n2, (k1 + k2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    tp.append([float(z), float(2 * stats.norm.sf(abs(z)))])
out["twoprop"] = tp
out["paired"] = [[float(v) for v in stats.ttest_rel(x, y)] for x, y in c["paired"]]
out["welch"] = [[float(v) for v in stats.ttest_ind(x, y, equal_var=False)] for x, y in c["welch"]]
out["auc"] = [float(stats.mannwhitneyu(p, n).statistic) / (len(p) * len(n)) for p, n in c["auc"]]
out["tq"] = [float(stats.t.sf(q, df)) for a, df, q in c["tq"]]
out["nq"] = [float(stats.norm.sf(q)) for a, q in c["nq"]]
json.dump(out, sys.stdout)
`

type oracleIn struct {
	McNemar [][2]uint64    `json:"mcnemar"`
	TwoProp [][4]uint64    `json:"twoprop"`
	Paired  [][2][]float64 `json:"paired"`
	Welch   [][2][]float64 `json:"welch"`
	AUC     [][2][]float64 `json:"auc"`
	TQ      [][3]float64   `json:"tq"` // alpha, df, our quantile
	NQ      [][2]float64   `json:"nq"` // alpha, our quantile
}

type oracleOut struct {
	McNemar []float64    `json:"mcnemar"`
	TwoProp [][2]float64 `json:"twoprop"`
	Paired  [][2]float64 `json:"paired"`
	Welch   [][2]float64 `json:"welch"`
	AUC     []float64    `json:"auc"`
	TQ      []float64    `json:"tq"`
	NQ      []float64    `json:"nq"`
}

// aucCase is one set of binary scores for the AUC check.
type aucCase struct {
	bins     int
	tied     bool
	pos, neg []float64
}

func oracleCases() (oracleIn, []aucCase) {
	rng := rand.New(rand.NewPCG(17, 1))
	var in oracleIn
	small := []uint64{0, 1, 2, 3, 5, 8, 13, 30, 99, 100}
	for _, b := range small {
		for _, c := range small {
			in.McNemar = append(in.McNemar, [2]uint64{b, c})
		}
	}
	for _, bc := range [][2]uint64{{1000, 1000}, {1000, 1090}, {5000, 4800}, {20000, 20300}, {100000, 100500}, {100000, 101000}, {250000, 250000}, {3, 20000}} {
		in.McNemar = append(in.McNemar, bc)
	}
	in.TwoProp = [][4]uint64{{90, 100, 85, 100}, {900, 1000, 850, 1000}, {1, 10, 9, 10}, {4500, 5000, 4400, 5100}, {10, 20, 10, 20}, {0, 50, 3, 60}, {173, 200, 1641, 2000}}
	for _, n := range []int{5, 30, 200, 2000} {
		for _, shift := range []float64{0, 0.05, 0.3} {
			x, y := make([]float64, n), make([]float64, n)
			for i := range x {
				x[i] = math.Abs(rng.NormFloat64())
				y[i] = math.Abs(rng.NormFloat64()*0.9 - shift)
			}
			in.Paired = append(in.Paired, [2][]float64{x, y})
			m := n + 7
			z := make([]float64, m)
			for i := range z {
				z[i] = 1.5*rng.NormFloat64() + shift
			}
			in.Welch = append(in.Welch, [2][]float64{x, z})
		}
	}
	var aucs []aucCase
	for _, bins := range []int{1, 10, 20, 100, 1000} {
		for _, sep := range []float64{0, 0.5, 1.5} {
			for _, grid := range []float64{0, 0.05} { // 0.05: scores with ties
				c := aucCase{bins: bins, tied: grid > 0}
				for range 700 + rng.IntN(300) {
					s := 1 / (1 + math.Exp(-(rng.NormFloat64() + sep)))
					c.pos = append(c.pos, snap(s, grid))
				}
				for range 1500 + rng.IntN(500) {
					c.neg = append(c.neg, snap(1/(1+math.Exp(-rng.NormFloat64())), grid))
				}
				aucs = append(aucs, c)
				in.AUC = append(in.AUC, [2][]float64{c.pos, c.neg})
			}
		}
	}
	for _, c := range [][2]float64{{0.05, 1}, {0.05, 4}, {0.05, 50}, {0.01, 199}, {0.025, 10000}, {0.2, 3}, {0.5, 9}} {
		in.TQ = append(in.TQ, [3]float64{c[0], c[1], studentQuantile(c[0], c[1])})
	}
	for _, a := range []float64{0.05, 0.01, 0.025, 0.2, 1e-6, 0.5} {
		in.NQ = append(in.NQ, [2]float64{a, normalQuantile(a)})
	}
	return in, aucs
}

func snap(x, grid float64) float64 {
	if grid == 0 {
		return x
	}
	return math.Round(x/grid) * grid
}

func sums(xs []float64) (n uint64, sum, sumSq float64) {
	for _, x := range xs {
		sum += x
		sumSq += x * x
	}
	return uint64(len(xs)), sum, sumSq
}

func closeTo(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*max(1, math.Abs(want))
}

func TestAgainstSciPy(t *testing.T) {
	in, aucs := oracleCases()
	var out oracleOut
	testutil.SciPyOracle(t, oracleScript, in, &out)

	for i, bc := range in.McNemar {
		if got := McNemarExact(bc[0], bc[1]); math.Abs(got-out.McNemar[i]) > 1e-9 {
			t.Errorf("McNemarExact(%d, %d) = %.15g; want scipy's %.15g", bc[0], bc[1], got, out.McNemar[i])
		}
	}
	for i, c := range in.TwoProp {
		z, p := TwoProportions(c[0], c[1], c[2], c[3])
		if !closeTo(z, out.TwoProp[i][0], 1e-9) || math.Abs(p-out.TwoProp[i][1]) > 1e-9 {
			t.Errorf("TwoProportions%v = %v, %v; want %v", c, z, p, out.TwoProp[i])
		}
	}
	for i, xy := range in.Paired {
		var sumD, sumD2 float64
		for j := range xy[0] {
			d := xy[0][j] - xy[1][j]
			sumD += d
			sumD2 += d * d
		}
		tt, p := PairedMeanTest(uint64(len(xy[0])), sumD, sumD2)
		if !closeTo(tt, out.Paired[i][0], 1e-8) || math.Abs(p-out.Paired[i][1]) > 1e-9 {
			t.Errorf("PairedMeanTest case %d (n=%d) = %v, %v; want ttest_rel %v", i, len(xy[0]), tt, p, out.Paired[i])
		}
	}
	for i, xy := range in.Welch {
		n1, s1, q1 := sums(xy[0])
		n2, s2, q2 := sums(xy[1])
		tt, p := WelchTest(n1, s1, q1, n2, s2, q2)
		if !closeTo(tt, out.Welch[i][0], 1e-8) || math.Abs(p-out.Welch[i][1]) > 1e-9 {
			t.Errorf("WelchTest case %d (n=%d,%d) = %v, %v; want ttest_ind %v", i, n1, n2, tt, p, out.Welch[i])
		}
	}
	for i, c := range aucs {
		s, err := Spec{Kind: Binary, ScoreBins: c.bins}.WithDefaults()
		if err != nil {
			t.Fatal(err)
		}
		counts := NewCounts(&s)
		for _, x := range c.pos {
			counts.Add(s.Outcome(1, math.NaN(), x))
		}
		for _, x := range c.neg {
			counts.Add(s.Outcome(0, math.NaN(), x))
		}
		m := counts.Metrics()
		exact := out.AUC[i]
		if diff := math.Abs(m.AUC - exact); diff > m.AUCBound+1e-12 {
			t.Errorf("case %d, %d bins: binned AUC %v is %v from the exact %v, past its bound %v", i, c.bins, m.AUC, diff, exact, m.AUCBound)
		}
		if c.bins == 1 && (m.AUC != 0.5 || m.AUCBound != 0.5) {
			t.Errorf("one bin: AUC %v, bound %v; want 0.5, 0.5", m.AUC, m.AUCBound)
		}
		if c.bins == 1000 && !c.tied && m.AUCBound > 0.01 {
			t.Errorf("case %d, 1000 bins of untied scores: bound %v; want it under 0.01", i, m.AUCBound)
		}
	}
	for i, c := range in.TQ {
		if tail := out.TQ[i]; math.Abs(tail-c[0]) > 1e-10*c[0] {
			t.Errorf("studentQuantile(%v, %v) = %v, where t.sf is %v; want %v", c[0], c[1], c[2], tail, c[0])
		}
	}
	for i, c := range in.NQ {
		if tail := out.NQ[i]; math.Abs(tail-c[0]) > 1e-10*c[0] {
			t.Errorf("normalQuantile(%v) = %v, where norm.sf is %v; want %v", c[0], c[1], tail, c[0])
		}
	}
}
