//go:build !race

package perf

import (
	"math"
	"testing"
)

// TestAllocationAdd locks the outcome path at zero allocations.
func TestAllocationAdd(t *testing.T) {
	b := mustSpec(t, Spec{Kind: Binary})
	c := mustSpec(t, Spec{Kind: Categorical, Classes: []string{"a", "b", "c"}})
	n := mustSpec(t, Spec{Kind: Numeric})
	counts, ring, pairs := NewCounts(b), NewRing(c, 8), NewPairRing(8)
	numeric, window := NewRing(n, 8), NewCounts(c)
	var pc PairCounts
	score, label, number := 0.3, []byte(` "b" `), []byte("2")
	for name, f := range map[string]func(){
		"Counts.Add":     func() { counts.Add(b.Outcome(1, math.NaN(), score)) },
		"Ring.Add":       func() { ring.Add(Outcome{Actual: 2, Predicted: 1}) },
		"numeric Add":    func() { numeric.Add(Outcome{Actual: 2, Predicted: 1.5}) },
		"PairCounts.Add": func() { pc.Add(b, Outcome{Actual: 1, Predicted: 1}, Outcome{Actual: 1, Predicted: 0}) },
		"PairRing.Add":   func() { pairs.Add(n, Outcome{Actual: 1, Predicted: 2}, Outcome{Actual: 1, Predicted: 0}) },
		"Ring.Window":    func() { ring.Window(8, window) },
		"Ring.Rotate":    func() { ring.Rotate() },
		"ParseLabel":     func() { _, _ = c.ParseLabel(label) },
		"numeric label":  func() { _, _ = n.ParseLabel(number) },
	} {
		if allocs := testing.AllocsPerRun(200, f); allocs != 0 {
			t.Errorf("%s: %v allocations; want 0", name, allocs)
		}
	}
}
