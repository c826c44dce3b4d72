package stat

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"testing"
)

// oracleScript reads the cases and prints, per case, scipy's contingency
// tests (all-zero columns dropped, as Contingency does), ks_2samp on the raw
// data, the Jensen–Shannon distance and the PSI formula.
const oracleScript = `
import json, sys
import numpy as np
from scipy.stats import chi2_contingency, ks_2samp
from scipy.spatial.distance import jensenshannon
cases = json.load(open(sys.argv[1]))
out = []
for c in cases:
    ref = np.array(c["ref"], dtype=float); cur = np.array(c["cur"], dtype=float)
    keep = (ref + cur) > 0
    obs = np.vstack([ref[keep], cur[keep]])
    r = {}
    for lam in ("log-likelihood", "pearson"):
        stat, p, dof, _ = chi2_contingency(obs, correction=False, lambda_=lam)
        r[lam] = [float(stat), float(p), int(dof)]
    B = len(ref)
    a = (cur + 0.5) / (cur.sum() + 0.5 * B)
    e = (ref + 0.5) / (ref.sum() + 0.5 * B)
    r["psi"] = float(np.sum((a - e) * np.log(a / e)))
    r["js"] = float(jensenshannon(cur, ref, base=2))
    if c.get("ref_raw"):
        res = ks_2samp(np.array(c["ref_raw"]), np.array(c["cur_raw"]))
        r["ks"] = [float(res.statistic), float(res.pvalue)]
    out.append(r)
json.dump(out, sys.stdout)
`

type oracleCase struct {
	Name   string    `json:"name"`
	Ref    []float64 `json:"ref"`
	Cur    []float64 `json:"cur"`
	RefRaw []float64 `json:"ref_raw,omitempty"`
	CurRaw []float64 `json:"cur_raw,omitempty"`
}

type oracleResult struct {
	LogLikelihood [3]float64 `json:"log-likelihood"`
	Pearson       [3]float64 `json:"pearson"`
	PSI           float64    `json:"psi"`
	JS            float64    `json:"js"`
	KS            []float64  `json:"ks"`
}

// python returns /usr/bin/python3 if it has scipy; otherwise it skips, or
// fails when CI is set.
func python(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import scipy, numpy").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("scipy oracle unavailable in CI: %v (apt-get install -y python3-scipy python3-numpy)", err)
		}
		t.Skipf("scipy oracle unavailable: %v", err)
	}
	return py
}

// binRaw bins values at edges: cell i holds (e_i, e_{i+1}].
func binRaw(xs, edges []float64) []float64 {
	c := make([]float64, len(edges)+1)
	for _, x := range xs {
		c[sort.SearchFloat64s(edges, x)]++
	}
	return c
}

func oracleCases() []oracleCase {
	rng := rand.New(rand.NewPCG(5, 5))
	var cases []oracleCase
	// Numeric: a raw reference binned at its own quantiles, and raw current
	// samples, shifted or scaled.
	for _, bins := range []int{10, 20} {
		for _, n := range []int{200, 1000, 3000} {
			for _, sh := range []struct{ mean, scale float64 }{{0, 1}, {0, 1}, {0.05, 1}, {0.1, 1}, {0.2, 1}, {0.4, 1}, {0, 1.3}, {0.15, 1.1}} {
				m := 2000
				ref := make([]float64, m)
				for i := range ref {
					ref[i] = rng.NormFloat64()
				}
				sorted := slices.Sorted(slices.Values(ref))
				edges := make([]float64, bins-1)
				for i := range edges {
					k := (i + 1) * m / bins
					edges[i] = (sorted[k-1] + sorted[k]) / 2
				}
				cur := make([]float64, n)
				for i := range cur {
					cur[i] = sh.mean + sh.scale*rng.NormFloat64()
				}
				cases = append(cases, oracleCase{
					Name: fmt.Sprintf("numeric B=%d n=%d mean=%v scale=%v", bins, n, sh.mean, sh.scale),
					Ref:  binRaw(ref, edges), Cur: binRaw(cur, edges), RefRaw: ref, CurRaw: cur,
				})
			}
		}
	}
	// Categorical: Zipf-like reference with fractional counts p·M, a
	// perturbed current mix, and cells empty on both sides.
	for k, cells := range []int{3, 8, 30} {
		for _, n := range []int{50, 500, 20000} {
			for _, tilt := range []float64{0, 0.02, 0.2} {
				p := make([]float64, cells)
				q := make([]float64, cells)
				var sp, sq float64
				for i := range p {
					p[i] = 1 / math.Pow(float64(i+1), 1.1)
					q[i] = p[i] * math.Exp(tilt*float64(i))
					sp += p[i]
					sq += q[i]
				}
				mref := 12345.0 + float64(k)
				ref := make([]float64, cells)
				for i := range ref {
					ref[i] = p[i] / sp * mref
				}
				cur := make([]float64, cells)
				tab := NewAlias(q)
				for range n {
					cur[tab.Draw(rng)]++
				}
				if cells > 3 { // one column empty in both rows
					ref[1], cur[1] = 0, 0
				}
				cases = append(cases, oracleCase{Name: fmt.Sprintf("categorical C=%d n=%d tilt=%v", cells, n, tilt), Ref: ref, Cur: cur})
			}
		}
	}
	return cases
}

func relClose(got, want, tol float64) bool {
	if got == want {
		return true
	}
	return math.Abs(got-want) <= tol*math.Max(math.Abs(want), 1e-300)
}

func TestOracleScipy(t *testing.T) {
	py := python(t)
	cases := oracleCases()
	dir := t.TempDir()
	in := writeJSON(t, dir, cases)
	script := filepath.Join(dir, "oracle.py")
	if err := os.WriteFile(script, []byte(oracleScript), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, script, in).Output()
	if err != nil {
		t.Fatalf("oracle failed: %v", err)
	}
	var want []oracleResult
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("cannot decode oracle output: %v", err)
	}
	if len(want) != len(cases) {
		t.Fatalf("got %d oracle results; want %d", len(want), len(cases))
	}
	const alpha = 0.05
	agreed, checked := 0, 0
	for i, c := range cases {
		w := want[i]
		t.Run(c.Name, func(t *testing.T) {
			for _, tc := range []struct {
				lambda Lambda
				want   [3]float64
			}{{LogLikelihood, w.LogLikelihood}, {Pearson, w.Pearson}} {
				stat, df := Contingency(c.Ref, c.Cur, tc.lambda)
				p := ContingencyPValue(stat, df)
				if !relClose(stat, tc.want[0], 1e-9) {
					t.Errorf("lambda %d: statistic got %.17g; want %.17g", tc.lambda, stat, tc.want[0])
				}
				if df != int(tc.want[2]) {
					t.Errorf("lambda %d: df got %d; want %v", tc.lambda, df, tc.want[2])
				}
				if !relClose(p, tc.want[1], 1e-9) && !(p < 1e-290 && tc.want[1] < 1e-290) {
					t.Errorf("lambda %d: p-value got %.17g; want %.17g", tc.lambda, p, tc.want[1])
				}
			}
			if got := PSI(c.Ref, c.Cur); !relClose(got, w.PSI, 1e-12) {
				t.Errorf("PSI got %.17g; want %.17g", got, w.PSI)
			}
			if got := JensenShannon(c.Ref, c.Cur); !relClose(got, w.JS, 1e-9) {
				t.Errorf("JS got %.17g; want %.17g", got, w.JS)
			}
			if c.RefRaw == nil {
				return
			}
			bins := len(c.Ref)
			d := BinnedKS(c.Ref, c.Cur)
			if math.Abs(d-w.KS[0]) > 1/float64(bins)+0.01 || d > w.KS[0]+1e-12 {
				t.Errorf("binned KS got %v; want within 1/B+0.01 below ks_2samp %v", d, w.KS[0])
			}
			// The detector's binned KS decision against the exact test.
			var m, n float64
			for j := range c.Ref {
				m += c.Ref[j]
				n += c.Cur[j]
			}
			props := make([]float64, bins)
			for j := range props {
				props[j] = c.Ref[j] / m
			}
			tail := newKSTail(props, true)
			p := tail.sf(d / math.Sqrt(1/n+1/m))
			exact := w.KS[1]
			if exact < alpha/2 || exact > 2*alpha {
				checked++
				if (p < alpha) != (exact < alpha) {
					t.Errorf("decision differs: binned KS p %.4g, exact p %.4g (D %.4f vs %.4f)", p, exact, d, w.KS[0])
				} else {
					agreed++
				}
			}
		})
	}
	t.Logf("%d cases; decisions agree in %d of %d checked (exact p outside [α/2, 2α])", len(cases), agreed, checked)
}

// writeJSON writes v to dir/cases.json and returns the path.
func writeJSON(t *testing.T, dir string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "cases.json")
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return in
}
