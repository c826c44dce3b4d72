package perf

import (
	"math"
	"testing"
)

// Run: go test -run='^$' -bench=. -benchmem ./groundtruth/perf/

func BenchmarkCountsAddBinary(b *testing.B) {
	s := mustSpec(b, Spec{Kind: Binary})
	c := NewCounts(s)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.Add(s.Outcome(float64(i&1), math.NaN(), float64(i%1000)/1000))
	}
	if c.N() == 0 {
		b.Fatal("nothing counted")
	}
}

func BenchmarkRingAddCategorical(b *testing.B) {
	s := mustSpec(b, Spec{Kind: Categorical, Classes: []string{"a", "b", "c", "d"}})
	r := NewRing(s, 60)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Add(Outcome{Actual: float64(i % 5), Predicted: float64(i % 3)})
	}
}

func BenchmarkParseLabelClass(b *testing.B) {
	s := mustSpec(b, Spec{Kind: Categorical, Classes: []string{"cat", "dog", "bird", "fish"}})
	raw := []byte(`"bird"`)
	b.ReportAllocs()
	for b.Loop() {
		if v, err := s.ParseLabel(raw); err != nil || v != 2 {
			b.Fatal(v, err)
		}
	}
}

// BenchmarkWindowAndMetrics is one evaluation tick: a 60-slice window of a
// binary ring and its metrics.
func BenchmarkWindowAndMetrics(b *testing.B) {
	s := mustSpec(b, Spec{Kind: Binary, ScoreBins: 100})
	r := NewRing(s, 60)
	for i := range 100000 {
		r.Add(s.Outcome(float64(i&1), math.NaN(), float64(i%997)/997))
		if i%2000 == 0 {
			r.Rotate()
		}
	}
	w := NewCounts(s)
	b.ReportAllocs()
	for b.Loop() {
		r.Window(60, w)
		if m := w.Metrics(); m.N == 0 {
			b.Fatal("empty window")
		}
	}
}
