package stat

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os/exec"
	"testing"
	"time"
)

// performanceOracleScript prints, per case, scipy's one-sided binomial test
// of the errors and its asymptotic one-sided Mann–Whitney test (no
// continuity correction, tie-corrected) of the window's |error| cells
// against the reference's, both expanded to samples of cell indices.
const performanceOracleScript = `
import json, sys
import numpy as np
from scipy.stats import binomtest, mannwhitneyu
out = []
for c in json.load(open(sys.argv[1])):
    b = binomtest(c["errors"], c["n"], c["p0"], alternative="greater").pvalue
    x = np.repeat(np.arange(len(c["cur"])), c["cur"])
    y = np.repeat(np.arange(len(c["ref"])), c["ref"])
    r = mannwhitneyu(x, y, alternative="greater", use_continuity=False, method="asymptotic")
    out.append({"binom": float(b), "mwu": float(r.pvalue), "u": float(r.statistic) / (len(x) * len(y))})
json.dump(out, sys.stdout)
`

type performanceCase struct {
	Errors uint64   `json:"errors"`
	N      uint64   `json:"n"`
	P0     float64  `json:"p0"`
	Ref    []uint64 `json:"ref"`
	Cur    []uint64 `json:"cur"`
}

// TestPerformanceMatchesScipy checks the error-rate p-value against
// scipy.stats.binomtest when the reference is exact (M → ∞), and the
// |error| p-value and statistic against scipy.stats.mannwhitneyu on the
// same cells, to 1e-9.
func TestPerformanceMatchesScipy(t *testing.T) {
	py := python(t)
	rng := rand.New(rand.NewPCG(41, 42))
	var cases []performanceCase
	for i := range 24 {
		c := 3 + i%8
		cs := performanceCase{N: uint64(200 + rng.IntN(5000)), P0: 0.02 + 0.3*rng.Float64(), Ref: make([]uint64, c), Cur: make([]uint64, c)}
		shift := 1 + 0.1*float64(i%5) // some windows worse, some the same
		cs.Errors = uint64(float64(cs.N) * cs.P0 * shift * (0.95 + 0.1*rng.Float64()))
		for range 3000 {
			cs.Ref[rng.IntN(c)]++
		}
		for range 200 + rng.IntN(800) {
			if rng.Float64() < shift-1 {
				cs.Cur[c-1]++
			} else {
				cs.Cur[rng.IntN(c)]++
			}
		}
		cases = append(cases, cs)
	}
	in := writeJSON(t, t.TempDir(), cases)
	outb, err := exec.Command(py, "-c", performanceOracleScript, in).Output()
	if err != nil {
		t.Fatalf("scipy oracle: %v", err)
	}
	var want []struct{ Binom, MWU, U float64 }
	if err := json.Unmarshal(outb, &want); err != nil {
		t.Fatal(err)
	}
	o, err := Options{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	var tails int
	for i, cs := range cases {
		if want[i].Binom < 1e-3 && want[i].MWU < 1e-3 {
			tails++
		}
		cls, err := newPerformance("c", &PerformanceReference{ErrorRate: cs.P0, M: math.MaxUint64}, &o, 1e-6)
		if err != nil {
			t.Fatal(err)
		}
		e, _, _ := cls.Evaluate(time.Time{}, []PerformanceWindow{{N: cs.N, Errors: cs.Errors}, {N: cs.N, Errors: cs.Errors}})
		if got := e.Windows[0].Stats[TestErrorRate].PValue; !close9(got, want[i].Binom) {
			t.Errorf("case %d: binomial p %.12g; scipy %.12g", i, got, want[i].Binom)
		}
		props := make([]float64, len(cs.Ref))
		var m uint64
		for j, r := range cs.Ref {
			props[j] = float64(r)
			m += r
		}
		reg, err := newPerformance("r", &PerformanceReference{Numeric: true, AbsErrorProportions: props, M: m}, &o, 1e-6)
		if err != nil {
			t.Fatal(err)
		}
		e, _, _ = reg.Evaluate(time.Time{}, []PerformanceWindow{{AbsErrorCells: cs.Cur}, {AbsErrorCells: cs.Cur}})
		s := e.Windows[0].Stats[TestAbsError]
		if !close9(s.PValue, want[i].MWU) || !close9(s.Value, want[i].U) {
			t.Errorf("case %d: Mann–Whitney Û %.12g p %.12g; scipy %.12g p %.12g", i, s.Value, s.PValue, want[i].U, want[i].MWU)
		}
	}
	if tails < 3 {
		t.Errorf("only %d cases reach p < 1e-3 in both tests: the tails go unchecked", tails)
	}
}

// close9 reports agreement to 1e-9 relative (1e-12 absolute near 0).
func close9(a, b float64) bool { return math.Abs(a-b) <= max(1e-9*math.Abs(b), 1e-12) }
