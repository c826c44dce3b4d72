package sketch

import (
	"math"
	"slices"
	"testing"
)

func TestMerged(t *testing.T) {
	rng := newRand(3)
	var chunks [][]float64
	var want []float64
	for i := range 9 {
		c := make([]float64, rng.IntN(50)*(i%3)) // some chunks are empty
		for j := range c {
			c[j] = float64(rng.IntN(40)) - 20 // ties across chunks
		}
		slices.Sort(c)
		chunks = append(chunks, c)
		want = append(want, c...)
	}
	slices.Sort(want)
	var got []float64
	m := newMerged(chunks)
	for v, ok := m.next(); ok; v, ok = m.next() {
		got = append(got, v)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %d values %v; want %d values %v", len(got), got, len(want), want)
	}
	if _, ok := newMerged(nil).next(); ok {
		t.Error("next on no chunks: got a value")
	}
	// Equal values come out by chunk: -0 of chunk 0 before 0 of chunk 1.
	m = newMerged([][]float64{{math.Copysign(0, -1)}, {0}})
	if v, _ := m.next(); !math.Signbit(v) {
		t.Error("first of -0 (chunk 0) and 0 (chunk 1): got 0; want -0")
	}
}
