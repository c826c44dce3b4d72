package perf

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRingWindowsMatchRecount checks every window of a ring against Counts
// rebuilt from the outcomes of its slices, over many rotations.
func TestRingWindowsMatchRecount(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := mustSpec(t, Spec{Kind: Binary, ScoreBins: 10})
	const slices = 4
	r := NewRing(s, slices)
	history := [][]Outcome{nil} // per slice, the current one last
	into, want := NewCounts(s), NewCounts(s)
	for step := range 30 {
		for range rng.IntN(20) {
			o := s.Outcome(float64(rng.IntN(2)), math.NaN(), rng.Float64())
			r.Add(o)
			history[len(history)-1] = append(history[len(history)-1], o)
		}
		for k := -1; k <= slices+2; k++ {
			r.Window(k, into)
			want.Reset()
			for back := range min(max(k, 0), slices, len(history)) {
				for _, o := range history[len(history)-1-back] {
					want.Add(o)
				}
			}
			sameCounts(t, into, want)
		}
		if step%5 != 4 { // some slices span two steps
			r.Rotate()
			history = append(history, nil)
		}
	}
	if r.Current().N() != uint64(len(history[len(history)-1])) {
		t.Errorf("current slice N %d; want %d", r.Current().N(), len(history[len(history)-1]))
	}
	r.Reset()
	if r.Window(slices, into); into.N() != 0 {
		t.Errorf("after Reset the full window holds %d outcomes; want 0", into.N())
	}
}

func TestPairCountsAndRing(t *testing.T) {
	s := mustSpec(t, Spec{Kind: Categorical, Classes: []string{"x", "y"}})
	var p PairCounts
	for _, c := range []struct{ actual, champ, chall float64 }{
		{0, 0, 0}, {1, 1, 1}, // both right
		{0, 0, 1}, {1, 1, 2}, // champion right only: B
		{0, 1, 0}, {2, 0, 2}, {2, 1, 2}, // challenger right only: C
		{0, 1, 2},    // both wrong
		{0, 7, 0},    // invalid prediction
		{-1, 0, 0.5}, // invalid label
	} {
		p.Add(s, s.Outcome(c.actual, c.champ, math.NaN()), s.Outcome(c.actual, c.chall, math.NaN()))
	}
	if want := (PairCounts{N: 8, Both: 2, B: 2, C: 3, Invalid: 2}); p != want {
		t.Fatalf("pairs %+v; want %+v", p, want)
	}

	n := mustSpec(t, Spec{Kind: Numeric})
	r := NewPairRing(2)
	r.Add(n, Outcome{Actual: 10, Predicted: 13}, Outcome{Actual: 10, Predicted: 9}) // d = 3 − 1
	r.Rotate()
	r.Add(n, Outcome{Actual: 0, Predicted: -1}, Outcome{Actual: 0, Predicted: 2}) // d = 1 − 2
	r.Add(n, Outcome{Actual: 0, Predicted: math.NaN()}, Outcome{Actual: 0, Predicted: 2})
	var w PairCounts
	r.Window(2, &w)
	if want := (PairCounts{N: 2, SumD: 1, SumD2: 5, ChampionAbs: 4, ChallengerAbs: 3, Invalid: 1}); w != want {
		t.Fatalf("window of 2 %+v; want %+v", w, want)
	}
	r.Rotate() // drops the first slice
	r.Window(2, &w)
	if want := (PairCounts{N: 1, SumD: -1, SumD2: 1, ChampionAbs: 1, ChallengerAbs: 2, Invalid: 1}); w != want {
		t.Fatalf("window of 2 after a rotation %+v; want %+v", w, want)
	}
}
