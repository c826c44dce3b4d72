package perf

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// arms draws n labelled requests answered by a champion right with
// probability accChamp and a challenger right with accChall, independently.
// Numeric specs draw errors N(0, sdChamp) and N(0, sdChall) instead, with
// accChamp and accChall as the standard deviations.
func arms(t *testing.T, s *Spec, n int, accChamp, accChall float64, seed uint64) (*PairCounts, *Counts, *Counts) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	pairs := &PairCounts{}
	champ, chall := NewCounts(s), NewCounts(s)
	answer := func(actual, q float64) Outcome {
		if s.Kind == Numeric {
			return s.Outcome(actual, actual+q*rng.NormFloat64(), math.NaN())
		}
		if rng.Float64() < q {
			return s.Outcome(actual, actual, math.NaN())
		}
		return s.Outcome(actual, 1-actual, math.NaN())
	}
	for range n {
		actual := float64(rng.IntN(2))
		if s.Kind == Numeric {
			actual = 10 * rng.Float64()
		}
		a, b := answer(actual, accChamp), answer(actual, accChall)
		pairs.Add(s, a, b)
		// The unpaired arms see other requests: draw fresh answers.
		champ.Add(answer(actual, accChamp))
		chall.Add(answer(actual, accChall))
	}
	return pairs, champ, chall
}

func TestVerdicts(t *testing.T) {
	bin := mustSpec(t, Spec{Kind: Binary})
	num := mustSpec(t, Spec{Kind: Numeric})
	for _, tc := range []struct {
		name        string
		spec        *Spec
		n           int
		champ, chal float64
		want        Verdict
		significant bool // the no-difference test must reject
	}{
		{"clearly better", bin, 5000, 0.80, 0.90, BetterByMargin, true},
		{"better below the margin, huge N", bin, 400000, 0.80, 0.81, NotBetter, true},
		{"no difference", bin, 5000, 0.85, 0.85, NotBetter, false},
		{"worse", bin, 5000, 0.80, 0.70, Worse, true},
		{"few", bin, 150, 0.50, 0.99, InsufficientData, true},
		{"numeric clearly better", num, 5000, 1.0, 0.5, BetterByMargin, true},
		// MAE 0.798 against 0.790: a 1% reduction, under the 2% margin.
		{"numeric better below the margin, huge N", num, 1000000, 1.0, 0.99, NotBetter, true},
		{"numeric worse", num, 5000, 1.0, 1.3, Worse, true},
		{"numeric few", num, 100, 1.0, 0.1, InsufficientData, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pairs, champ, chall := arms(t, tc.spec, tc.n, tc.champ, tc.chal, uint64(tc.n))
			for kind, r := range map[string]VerdictResult{
				"paired":   PairedVerdict(tc.spec, pairs, VerdictOptions{}),
				"unpaired": UnpairedVerdict(tc.spec, champ, chall, VerdictOptions{}),
			} {
				if r.Verdict != tc.want {
					t.Errorf("%s: %v (%+v); want %v", kind, r.Verdict, r, tc.want)
				}
				if tc.want != InsufficientData && (r.PValue < DefaultAlpha) != tc.significant {
					t.Errorf("%s: p = %v; want significant %v", kind, r.PValue, tc.significant)
				}
				if r.N != uint64(tc.n) {
					t.Errorf("%s: N %d; want %d", kind, r.N, tc.n)
				}
				if !(r.Lower < r.Difference) {
					t.Errorf("%s: lower bound %v not below the difference %v", kind, r.Lower, r.Difference)
				}
				wantMetric := map[Kind]string{Binary: "accuracy", Numeric: "mae"}[tc.spec.Kind]
				if r.Metric != wantMetric {
					t.Errorf("%s: metric %q; want %q", kind, r.Metric, wantMetric)
				}
			}
		})
	}
}

// TestPairedVerdictFigures checks the classification figures against the
// formulas: Difference (C−B)/N, variance ((B+C)/N − D²)/N, McNemar's p.
func TestPairedVerdictFigures(t *testing.T) {
	s := mustSpec(t, Spec{Kind: Binary})
	p := &PairCounts{N: 1000, Both: 700, B: 50, C: 150}
	r := PairedVerdict(s, p, VerdictOptions{Margin: 0.05, Alpha: 0.01, MinN: 1000})
	lower := 0.1 - 2.3263478740408408*math.Sqrt((0.2-0.01)/1000)
	if r.Champion != 0.75 || r.Challenger != 0.85 || math.Abs(r.Difference-0.1) > 1e-15 ||
		math.Abs(r.Lower-lower) > 1e-12 || r.PValue != McNemarExact(50, 150) || r.Verdict != BetterByMargin {
		t.Fatalf("%+v; want accuracies 0.75, 0.85, difference 0.1, lower %v, better_by_margin", r, lower)
	}
	// The same pairs with a margin above the lower bound.
	if r := PairedVerdict(s, p, VerdictOptions{Margin: 0.08, Alpha: 0.01, MinN: 1000}); r.Verdict != NotBetter {
		t.Errorf("margin 0.08 above lower bound %v: %v; want not_better", r.Lower, r.Verdict)
	}
	if r := PairedVerdict(s, p, VerdictOptions{MinN: 1001}); r.Verdict != InsufficientData {
		t.Errorf("MinN 1001 with 1000 pairs: %v; want insufficient_data", r.Verdict)
	}
	if r := PairedVerdict(s, &PairCounts{}, VerdictOptions{}); r.Verdict != InsufficientData || r.PValue != 1 {
		t.Errorf("no pairs: %+v; want insufficient_data, p 1", r)
	}
}

func TestVerdictOptions(t *testing.T) {
	o, err := VerdictOptions{}.WithDefaults()
	if err != nil || o != (VerdictOptions{Margin: 0.02, Alpha: 0.05, MinN: 200}) {
		t.Fatalf("defaults %+v, %v", o, err)
	}
	for _, bad := range []VerdictOptions{{Margin: -0.1}, {Margin: 1}, {Alpha: 0.7}, {Alpha: -1}, {Alpha: math.NaN()}} {
		if _, err := bad.WithDefaults(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if _, err := (VerdictOptions{Alpha: 0.7}).WithDefaults(); err == nil || !strings.HasPrefix(err.Error(), "alpha:") {
		t.Errorf("alpha 0.7: error %v; want one naming alpha", err)
	}
	names := []string{"insufficient_data", "not_better", "better_by_margin", "worse"}
	for v, name := range names {
		if Verdict(v).String() != name {
			t.Errorf("Verdict(%d) = %q; want %q", v, Verdict(v), name)
		}
	}
}
