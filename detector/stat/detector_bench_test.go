package stat

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

// Sink keeps benchmark results alive.
var Sink atomic.Uint64

// tickSet is 20 features (10 numeric with 20 bins, 10 categorical with 11
// cells) with two windows each, as one detector tick sees them.
type tickSet struct {
	features []*Feature
	windows  [][]Window
}

func newTickSet(tb testing.TB, lazy bool) *tickSet {
	tb.Helper()
	o, err := Options{LazyPValues: lazy}.withDefaults()
	if err != nil {
		tb.Fatal(err)
	}
	num, cat := tickReferences()
	rng := rand.New(rand.NewPCG(1, 1))
	s := &tickSet{}
	for i := range 20 {
		ref := &num
		if i%2 == 1 {
			ref = &cat
		}
		f, err := newFeature("f", ref, &o, 3e-7)
		if err != nil {
			tb.Fatal(err)
		}
		ring := NewSliceRing(len(ref.Proportions), []int{5, 60})
		stream := newNullStream(ref, f.props)
		for t := range 360 {
			stream.Rows(rng, ring, 500)
			ring.Flush()
			if (t+1)%6 == 0 {
				ring.Rotate()
			}
		}
		var ws []Window
		for _, w := range ring.Windows() {
			w.Cells = append([]uint64(nil), w.Cells...)
			ws = append(ws, w)
		}
		s.features = append(s.features, f)
		s.windows = append(s.windows, ws)
	}
	return s
}

// tickReferences returns a numeric reference of N(0, 1) in 20 equiprobable
// bins and a Zipf categorical one of 10 values and OTHER.
func tickReferences() (num, cat Reference) {
	num = canonicalReference(true, 20)
	num.Edges = make([]float64, 19)
	for i := range num.Edges {
		num.Edges[i] = math.Sqrt2 * math.Erfinv(2*float64(i+1)/20-1)
	}
	num.Min, num.Max, num.Std = -4.5, 4.5, 1
	return num, canonicalReference(false, 11)
}

func (s *tickSet) tick(now time.Time) uint64 {
	var n uint64
	for i, f := range s.features {
		e, _, _ := f.Evaluate(now, s.windows[i])
		n += uint64(e.State)
	}
	return n
}

// BenchmarkTick is one detector tick over 20 features × 2 windows.
func BenchmarkTick(b *testing.B) {
	for _, lazy := range []bool{false, true} {
		name := "all-pvalues"
		if lazy {
			name = "lazy-pvalues"
		}
		b.Run(name, func(b *testing.B) {
			s := newTickSet(b, lazy)
			now := time.Unix(0, 0)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				Sink.Add(s.tick(now.Add(time.Duration(i) * 10 * time.Second)))
			}
		})
	}
}

// BenchmarkCalibration is the startup cost of one feature class at the
// defaults (200000 simulated ticks).
func BenchmarkCalibration(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		c, err := NewCalibrator(Options{})
		if err != nil {
			b.Fatal(err)
		}
		cal, err := c.Calibration(true, 20)
		if err != nil {
			b.Fatal(err)
		}
		Sink.Add(uint64(cal.Ticks))
	}
}
