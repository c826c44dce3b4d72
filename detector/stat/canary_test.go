package stat

import (
	"math"
	"testing"
)

func TestCompareErrorRates(t *testing.T) {
	for _, tc := range []struct {
		name             string
		ce, cn, le, ln   uint64
		maxInc           float64
		breach           bool
		wantP, tolerance float64
	}{
		// Pooled z = (0.1 − 0.05)/√(0.0625·0.9375·(1/1000+1/3000)) = 4·√2.
		{"pooled worse", 100, 1000, 150, 3000, 0, true, 0.5 * math.Erfc(4), 1e-15},
		{"same rate", 50, 1000, 150, 3000, 0, false, 0.5, 1e-9},
		{"better canary", 10, 1000, 150, 3000, 0, false, math.NaN(), 0},
		{"within allowed increase", 60, 1000, 150, 3000, 0.02, false, math.NaN(), 0},
		{"beyond allowed increase", 200, 1000, 150, 3000, 0.02, true, math.NaN(), 0},
		{"no canary requests", 0, 0, 150, 3000, 0, false, 1, 0},
		{"both zero errors", 0, 1000, 0, 1000, 0, false, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := CompareErrorRates(tc.ce, tc.cn, tc.le, tc.ln, tc.maxInc, 0.001)
			if r.Breach != tc.breach {
				t.Fatalf("got %+v; want breach %v", r, tc.breach)
			}
			if !math.IsNaN(tc.wantP) && math.Abs(r.PValue-tc.wantP) > tc.tolerance+1e-15 {
				t.Fatalf("got p %v; want %v", r.PValue, tc.wantP)
			}
		})
	}
}

func TestCompareLatency(t *testing.T) {
	if r := CompareLatency(0.3, 0.1, 1.5); !r.Breach || math.Abs(r.Ratio-3) > 1e-12 {
		t.Errorf("slow canary: got %+v", r)
	}
	if r := CompareLatency(0.12, 0.1, 1.5); r.Breach {
		t.Errorf("healthy canary: got %+v", r)
	}
	if r := CompareLatency(0.12, 0, 1.5); r.Breach || !math.IsNaN(r.Ratio) {
		t.Errorf("no live latency: got %+v", r)
	}
}

func TestCompareCounts(t *testing.T) {
	live := []uint64{250, 250, 250, 250}
	if r := CompareCounts(live, []uint64{100, 100, 100, 100}, true, 1e-3); r.Breach || r.DF != 3 || r.NCanary != 400 {
		t.Errorf("same distribution: got %+v", r)
	}
	r := CompareCounts(live, []uint64{40, 60, 120, 180}, true, 1e-3)
	if !r.Breach || !(r.KS > 0.2) || !(r.KSPValue < 1e-3) {
		t.Errorf("shifted predictions: got %+v", r)
	}
	// The canary is a sample too: the same shift is weaker evidence with
	// fewer live samples.
	small := CompareCounts([]uint64{25, 25, 25, 25}, []uint64{40, 60, 120, 180}, false, 1e-3)
	if !(small.GPValue > r.GPValue) || !math.IsNaN(small.KS) {
		t.Errorf("small live sample: got %+v", small)
	}
	if bad := CompareCounts(live, []uint64{1}, true, 0.01); bad.Breach || bad.PValue != 1 {
		t.Errorf("mismatched cells: got %+v", bad)
	}
}
