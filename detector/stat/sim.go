package stat

import (
	"math/rand/v2"
)

// This file holds the simulation primitives of the calibration, exported
// for the detection benchmark (bench/drift): an alias sampler, a ring of
// time slices that sums windows as sampler/sketch.State does (ring_test.go
// proves it on the same input), and a stationary row generator.

// Alias draws cell indices with given proportions in O(1) (Vose). It is
// immutable and safe for concurrent use with distinct generators.
type Alias struct {
	prob  []float64
	alias []int32
}

// NewAlias returns the table of proportions p (not necessarily normalised).
func NewAlias(p []float64) Alias {
	n := len(p)
	a := Alias{prob: make([]float64, n), alias: make([]int32, n)}
	var sum float64
	for _, v := range p {
		sum += v
	}
	scaled := make([]float64, n)
	var small, large []int32
	for i, v := range p {
		scaled[i] = v / sum * float64(n)
		if scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		a.prob[s], a.alias[s] = scaled[s], l
		scaled[l] += scaled[s] - 1
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range large {
		a.prob[i], a.alias[i] = 1, i
	}
	for _, i := range small {
		a.prob[i], a.alias[i] = 1, i
	}
	return a
}

// Draw returns a cell index drawn from r.
func (a *Alias) Draw(r *rand.Rand) int {
	u := r.Float64() * float64(len(a.prob))
	i := int(u)
	if i >= len(a.prob) {
		i = len(a.prob) - 1
	}
	if u-float64(i) < a.prob[i] {
		return i
	}
	return int(a.alias[i])
}

// Offsets of the extra counters after the cells of a SliceRing's tick
// buffer.
const (
	ExtraBelow = iota
	ExtraAbove
	ExtraUnseen
	ExtraMissing
	ExtraInvalid
	NumExtra
)

// SliceRing is a ring of time slices of counts (cells, then the extras)
// with running window sums. Window k (of ks[k] slices) sums the current
// slice and the ks[k]−1 before it, like sketch.State.Window. It is owned by
// one goroutine.
type SliceRing struct {
	cells, width int
	slices       [][]uint64
	cur          int
	ks           []int
	sums         [][]uint64
	tick         []uint64
	wins         []Window
}

// NewSliceRing returns an empty ring of windows of ks slices over cells
// cells.
func NewSliceRing(cells int, ks []int) *SliceRing {
	s := 0
	for _, k := range ks {
		s = max(s, k)
	}
	r := &SliceRing{cells: cells, width: cells + NumExtra, ks: ks, cur: 0}
	r.slices = make([][]uint64, s)
	for i := range r.slices {
		r.slices[i] = make([]uint64, r.width)
	}
	r.sums = make([][]uint64, len(ks))
	r.wins = make([]Window, len(ks))
	for i := range ks {
		r.sums[i] = make([]uint64, r.width)
	}
	r.tick = make([]uint64, r.width)
	return r
}

// Tick returns the counts of the current tick, not yet in the windows:
// the cells, then the extras at cells+ExtraBelow and so on.
func (r *SliceRing) Tick() []uint64 { return r.tick }

// Flush adds the tick buffer to the current slice and the windows.
func (r *SliceRing) Flush() {
	sl := r.slices[r.cur]
	for j, v := range r.tick {
		if v == 0 {
			continue
		}
		sl[j] += v
		for _, s := range r.sums {
			s[j] += v
		}
		r.tick[j] = 0
	}
}

// Rotate starts a new slice: each window drops its oldest slice.
func (r *SliceRing) Rotate() {
	n := len(r.slices)
	for i, k := range r.ks {
		old := r.slices[(r.cur-(k-1)+n*k)%n]
		s := r.sums[i]
		for j, v := range old {
			s[j] -= v
		}
	}
	r.cur = (r.cur + 1) % n
	clear(r.slices[r.cur])
}

// Windows returns the current windows; they alias the ring's sums.
func (r *SliceRing) Windows() []Window {
	for i, s := range r.sums {
		w := &r.wins[i]
		w.Cells = s[:r.cells]
		x := s[r.cells:]
		w.Below, w.Above, w.Unseen, w.Missing, w.Invalid = x[ExtraBelow], x[ExtraAbove], x[ExtraUnseen], x[ExtraMissing], x[ExtraInvalid]
	}
	return r.wins
}

// Bytes returns the memory of the counters.
func (r *SliceRing) Bytes() int { return 8 * r.width * (len(r.slices) + len(r.sums) + 1) }

// NullStream draws rows of a stationary feature: cells with the reference
// proportions, and missing, invalid, out-of-range and unseen values at the
// reference rates, so that the folded cells stay multinomial. It is
// immutable; Rows writes only to the ring it is given.
type NullStream struct {
	numeric              bool
	cells                int
	table                Alias
	pEdge0, pEdge1       float64 // numeric: P(out of range | first/last cell)
	pOther               float64 // categorical: P(unseen | other cell)
	other                int
	missingAt, invalidAt float64
}

// NewNullStream returns the stationary stream of ref.
func NewNullStream(ref Reference) (NullStream, error) {
	props, err := ref.validate()
	if err != nil {
		return NullStream{}, err
	}
	return newNullStream(&ref, props), nil
}

// newNullStream is NewNullStream with the normalised proportions props.
func newNullStream(ref *Reference, props []float64) NullStream {
	c := len(props)
	s := NullStream{numeric: ref.Numeric, cells: c, table: NewAlias(props), other: ref.OtherCell}
	s.missingAt = ref.MissingRate
	s.invalidAt = ref.MissingRate + ref.InvalidRate
	if ref.Numeric {
		oor := ref.OutOfRangeRate
		if oor == 0 {
			oor = 2 / (float64(ref.M) + 1)
		}
		s.pEdge0 = min(1, oor/2/max(props[0], 1e-300))
		s.pEdge1 = min(1, oor/2/max(props[c-1], 1e-300))
	} else if ref.OtherCell >= 0 {
		s.pOther = min(1, ref.UnseenRate/max(props[ref.OtherCell], 1e-300))
	}
	return s
}

// Rows draws n rows from r into the ring's tick buffer.
func (s *NullStream) Rows(r *rand.Rand, ring *SliceRing, n int) {
	t := ring.tick
	c := s.cells
	for range n {
		u := r.Float64()
		switch {
		case u < s.missingAt:
			t[c+ExtraMissing]++
			continue
		case u < s.invalidAt:
			t[c+ExtraInvalid]++
			continue
		}
		i := s.table.Draw(r)
		switch {
		case s.numeric && i == 0 && s.pEdge0 > 0 && r.Float64() < s.pEdge0:
			t[c+ExtraBelow]++
		case s.numeric && i == c-1 && s.pEdge1 > 0 && r.Float64() < s.pEdge1:
			t[c+ExtraAbove]++
		case !s.numeric && i == s.other && s.pOther > 0 && r.Float64() < s.pOther:
			t[c+ExtraUnseen]++
		default:
			t[i]++
		}
	}
}
