//go:build !race

package stat

import (
	"testing"
	"time"
)

func TestAllocationPerformance(t *testing.T) {
	o, err := Options{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	o.LazyPValues = true
	for _, ref := range []PerformanceReference{
		{ErrorRate: 0.1, M: 10_000},
		regressionReference(10, 10_000, 0),
	} {
		p, err := newPerformance("m", &ref, &o, 1e-5)
		if err != nil {
			t.Fatal(err)
		}
		cells := []uint64{90, 95, 100, 100, 105, 110, 100, 100, 95, 105}
		wins := []PerformanceWindow{{N: 6000, Errors: 700, AbsErrorCells: cells}, {N: 72000, Errors: 7300, AbsErrorCells: cells}}
		now := time.Unix(0, 0)
		if n := testing.AllocsPerRun(50, func() { p.Evaluate(now, wins) }); n != 0 {
			t.Errorf("numeric %v: got %v allocations per evaluation; want 0", ref.Numeric, n)
		}
	}
}
