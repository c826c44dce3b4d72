package stat

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestCorrections(t *testing.T) {
	for _, tc := range []struct {
		name     string
		p        []float64
		alpha    float64
		holm, bh []bool
		nh, nbh  int
	}{
		{"mixed", []float64{0.01, 0.04, 0.03, 0.005}, 0.05,
			[]bool{true, false, false, true}, []bool{true, true, true, true}, 2, 4},
		{"none", []float64{0.02, 0.5, 0.04, 0.03}, 0.05,
			[]bool{false, false, false, false}, []bool{false, false, false, false}, 0, 0},
		{"nan never rejected", []float64{math.NaN(), 0.001, 0.2}, 0.05,
			[]bool{false, true, false}, []bool{false, true, false}, 1, 1},
		{"bh step-up past a gap", []float64{0.001, 0.03, 0.035, 0.9}, 0.05,
			[]bool{true, false, false, false}, []bool{true, true, true, false}, 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make([]bool, len(tc.p))
			if n := HolmReject(tc.p, tc.alpha, got); n != tc.nh || !slices.Equal(got, tc.holm) {
				t.Errorf("Holm got %v (%d); want %v (%d)", got, n, tc.holm, tc.nh)
			}
			if n := BHReject(tc.p, tc.alpha, got); n != tc.nbh || !slices.Equal(got, tc.bh) {
				t.Errorf("BH got %v (%d); want %v (%d)", got, n, tc.bh, tc.nbh)
			}
		})
	}
}

func TestDataset(t *testing.T) {
	var fs []*Feature
	for range 4 {
		f, _ := testFeature(t, 1e-6, Options{})
		fs = append(fs, f)
	}
	big := uniformWindow(5000, 10)
	shifted := uniformWindow(5000, 10)
	shifted.Cells[0], shifted.Cells[9] = 0, 1000
	for i, f := range fs {
		w := big
		if i == 2 {
			w = shifted
		}
		f.Evaluate(time.Unix(0, 0), []Window{w, w})
	}
	d := NewDataset(Holm, fs[0].FamilyAlpha())
	r := d.Evaluate(fs)
	if r.Features != 4 || r.Drifted != 1 || r.Share != 0.25 || r.Rejected != 1 || !r.Reject[2] || r.State != StateDrift {
		t.Fatalf("got %+v", *r)
	}
	if n := testing.AllocsPerRun(10, func() { d.Evaluate(fs) }); n != 0 {
		t.Errorf("got %v allocations; want 0", n)
	}
}
