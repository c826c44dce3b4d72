package stat

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestContingencyHand(t *testing.T) {
	// scipy.stats.chi2_contingency([[10,20,30],[15,15,20]], correction=False, lambda_=...)
	ref, cur := []float64{10, 20, 30}, []float64{15, 15, 20}
	for _, tc := range []struct {
		name         string
		lambda       Lambda
		stat, pvalue float64
	}{
		{"g", LogLikelihood, 2.826715084443398, 0.24332493635783892},
		{"pearson", Pearson, 2.8285714285714287, 0.24309919372964037},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, df := Contingency(ref, cur, tc.lambda)
			p := ContingencyPValue(s, df)
			if df != 2 || !relClose(s, tc.stat, 1e-12) || !relClose(p, tc.pvalue, 1e-10) {
				t.Fatalf("got %v, %v, df %d; want %v, %v, df 2", s, p, df, tc.stat, tc.pvalue)
			}
		})
	}
}

func TestContingencyDegenerate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ref, cur []float64
		df       int
	}{
		{"empty current", []float64{1, 2}, []float64{0, 0}, 0},
		{"one column", []float64{0, 5}, []float64{0, 7}, 0},
		{"zero column dropped", []float64{3, 0, 5}, []float64{4, 0, 2}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, df := Contingency(tc.ref, tc.cur, LogLikelihood)
			if df != tc.df {
				t.Fatalf("got df %d; want %d", df, tc.df)
			}
			if df == 0 && ContingencyPValue(0, df) != 1 {
				t.Fatal("got p-value below 1 without degrees of freedom")
			}
		})
	}
}

func TestDistances(t *testing.T) {
	ref := []float64{25, 25, 25, 25}
	for _, tc := range []struct {
		name      string
		cur       []float64
		ks, linf  float64
		js        float64
		wantJSNaN bool
	}{
		{"identical", []float64{1, 1, 1, 1}, 0, 0, 0, false},
		{"all in first", []float64{4, 0, 0, 0}, 0.75, 0.75, math.NaN(), false},
		{"half shift", []float64{0, 0, 2, 2}, 0.5, 0.25, math.NaN(), false},
		{"empty", []float64{0, 0, 0, 0}, 0, 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := BinnedKS(ref, tc.cur); math.Abs(got-tc.ks) > 1e-12 {
				t.Errorf("KS got %v; want %v", got, tc.ks)
			}
			if got := LInf(ref, tc.cur); math.Abs(got-tc.linf) > 1e-12 {
				t.Errorf("L∞ got %v; want %v", got, tc.linf)
			}
			js := JensenShannon(ref, tc.cur)
			if tc.wantJSNaN != math.IsNaN(js) || js < 0 || js > 1 {
				t.Errorf("JS got %v", js)
			}
			if !math.IsNaN(tc.js) && math.Abs(js-tc.js) > 1e-12 {
				t.Errorf("JS got %v; want %v", js, tc.js)
			}
		})
	}
	// Disjoint supports are at JS distance 1.
	if got := JensenShannon([]float64{1, 0}, []float64{0, 1}); math.Abs(got-1) > 1e-12 {
		t.Errorf("JS of disjoint rows got %v; want 1", got)
	}
}

func TestPSIFormula(t *testing.T) {
	ref, cur := []float64{50, 30, 20}, []float64{10, 0, 30}
	var want float64
	for i := range ref {
		a := (cur[i] + 0.5) / (40 + 1.5)
		e := (ref[i] + 0.5) / (100 + 1.5)
		want += (a - e) * math.Log(a/e)
	}
	if got := PSI(ref, cur); !relClose(got, want, 1e-14) {
		t.Fatalf("got %v; want %v", got, want)
	}
}

func TestWassersteinDistance(t *testing.T) {
	// Uniform reference on [0, 4] with edges 1, 2, 3; the current mass sits
	// one cell to the right: F differs by 0.25 at every edge, Δe = 1.
	ref := []float64{1, 1, 1, 1}
	cur := []float64{0, 1, 1, 2}
	got := Wasserstein(ref, cur, []float64{1, 2, 3}, 0, 4, 2)
	if want := 3 * 0.25 * 1 / 2; math.Abs(got-want) > 1e-12 {
		t.Fatalf("got %v; want %v", got, want)
	}
	if !math.IsNaN(Wasserstein(ref, cur, []float64{1, 2, 3}, 0, 4, 0)) {
		t.Fatal("got a distance with zero std; want NaN")
	}
}

func TestBinomialSF(t *testing.T) {
	for _, tc := range []struct {
		k, n uint64
		p    float64
		want float64
	}{
		{10, 100, 0.05, 0.028188294163416113}, // scipy binom.sf(9, 100, 0.05)
		{0, 10, 0.3, 1},
		{11, 10, 0.3, 0},
		{1, 10, 0, 0},
	} {
		got := BinomialSF(tc.k, tc.n, tc.p)
		if !relClose(got, tc.want, 1e-10) {
			t.Errorf("BinomialSF(%d, %d, %v) got %v; want %v", tc.k, tc.n, tc.p, got, tc.want)
		}
		if c := chernoffSF(tc.k, tc.n, tc.p); c < got-1e-15 {
			t.Errorf("Chernoff bound %v below the tail %v", c, got)
		}
	}
}

func TestKolmogorov(t *testing.T) {
	// scipy.stats.kstwobign.sf
	for _, tc := range []struct{ x, want float64 }{{1.36, 0.049485876755377876}, {1.0, 0.26999967167735456}} {
		if got := KolmogorovSF(tc.x); !relClose(got, tc.want, 1e-9) {
			t.Errorf("KolmogorovSF(%v) got %v; want %v", tc.x, got, tc.want)
		}
	}
	if x := KolmogorovISF(0.05); math.Abs(KolmogorovSF(x)-0.05) > 1e-10 {
		t.Errorf("KolmogorovISF(0.05) = %v does not invert", x)
	}
}

func TestChi2ISF(t *testing.T) {
	for _, df := range []int{1, 4, 19, 200} {
		for _, a := range []float64{0.05, 1e-4, 1e-9, 1e-14} {
			x := Chi2ISF(df, a)
			if p := ContingencyPValue(x, df); !relClose(p, a, 1e-8) {
				t.Errorf("Chi2ISF(%d, %v) = %v has tail %v", df, a, x, p)
			}
		}
	}
}

// TestKSTailBound checks the Hunter–Worsley bound against a Monte Carlo of
// the Brownian bridge at the edges: never below it, and close to it.
func TestKSTailBound(t *testing.T) {
	for _, props := range [][]float64{
		{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1},
		{0.02, 0.3, 0.05, 0.05, 0.4, 0.18},
	} {
		tail := newKSTail(props, true)
		rng := rand.New(rand.NewPCG(1, 2))
		const reps = 200000
		us := []float64{1.0, 1.3, 1.6}
		hits := make([]int, len(us))
		var fs []float64
		var f float64
		for _, p := range props[:len(props)-1] {
			f += p
			fs = append(fs, f)
		}
		for range reps {
			// Brownian bridge at fs via Brownian motion W(t) − t·W(1).
			var w, prev float64
			vals := make([]float64, len(fs))
			for i, t := range fs {
				w += rng.NormFloat64() * math.Sqrt(t-prev)
				prev = t
				vals[i] = w
			}
			w1 := w + rng.NormFloat64()*math.Sqrt(1-prev)
			var mx float64
			for i, t := range fs {
				mx = max(mx, math.Abs(vals[i]-t*w1))
			}
			for j, u := range us {
				if mx > u {
					hits[j]++
				}
			}
		}
		for j, u := range us {
			mc := float64(hits[j]) / reps
			se := math.Sqrt(mc * (1 - mc) / reps)
			b := tail.sf(u)
			if b < mc-4*se {
				t.Errorf("props %v u %v: bound %v below Monte Carlo %v", props, u, b, mc)
			}
			if b > 1.3*mc+4*se {
				t.Errorf("props %v u %v: bound %v loose against Monte Carlo %v", props, u, b, mc)
			}
			if union := ksUnionSF(u, tail.sig); b > union+1e-12 {
				t.Errorf("props %v u %v: bound %v above the union bound %v", props, u, b, union)
			}
		}
		if u := tail.isf(1e-6); math.Abs(tail.bound(u)-1e-6) > 1e-12 {
			t.Errorf("isf does not invert: bound(%v) = %v", u, tail.bound(u))
		}
	}
}
