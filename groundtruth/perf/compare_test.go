package perf

import (
	"math"
	"testing"
)

// TestTestsAtTheEdges covers the inputs scipy answers with NaN or errors.
func TestTestsAtTheEdges(t *testing.T) {
	if p := McNemarExact(0, 0); p != 1 {
		t.Errorf("McNemarExact(0, 0) = %v; want 1", p)
	}
	if p, want := McNemarExact(0, 40), 2*math.Pow(0.5, 40); math.Abs(p-want) > 1e-12*want {
		t.Errorf("McNemarExact(0, 40) = %v; want 2·0.5^40 = %v", p, want)
	}
	nan := math.NaN()
	for _, tc := range []struct {
		name         string
		run          func() (float64, float64)
		wantT, wantP float64
	}{
		{"two proportions, an empty arm", func() (float64, float64) { return TwoProportions(3, 10, 0, 0) }, nan, 1},
		{"two proportions, all right on both", func() (float64, float64) { return TwoProportions(10, 10, 20, 20) }, 0, 1},
		{"paired, one pair", func() (float64, float64) { return PairedMeanTest(1, 2, 4) }, nan, 1},
		{"paired, constant zero differences", func() (float64, float64) { return PairedMeanTest(5, 0, 0) }, 0, 1},
		{"paired, constant positive differences", func() (float64, float64) { return PairedMeanTest(4, 2, 1) }, math.Inf(1), 0},
		{"welch, one value", func() (float64, float64) { return WelchTest(1, 1, 1, 5, 5, 5) }, nan, 1},
		{"welch, two equal constants", func() (float64, float64) { return WelchTest(3, 3, 3, 4, 4, 4) }, 0, 1},
		{"welch, two different constants", func() (float64, float64) { return WelchTest(3, 3, 3, 4, 8, 16) }, math.Inf(-1), 0},
	} {
		got, p := tc.run()
		if math.IsNaN(got) != math.IsNaN(tc.wantT) || (!math.IsNaN(got) && got != tc.wantT) || p != tc.wantP {
			t.Errorf("%s: %v, %v; want %v, %v", tc.name, got, p, tc.wantT, tc.wantP)
		}
	}
}
