package stat

import (
	"math/rand/v2"
)

// This file holds the simulation primitives shared by the calibration and
// the detection benchmark: an alias sampler, a ring of time slices that
// sums windows the way the sampler does, and a stationary row generator.

// aliasTable draws cell indices with given proportions in O(1) (Vose).
type aliasTable struct {
	prob  []float64
	alias []int32
}

func newAlias(p []float64) aliasTable {
	n := len(p)
	a := aliasTable{prob: make([]float64, n), alias: make([]int32, n)}
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

func (a *aliasTable) draw(r *rand.Rand) int {
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

// Extra counters after the cells of a slice.
const (
	xBelow = iota
	xAbove
	xUnseen
	xMissing
	xInvalid
	numExtra
)

// sliceRing is a ring of time slices of counts (cells, then the extras)
// with running window sums. Window k (of ks[k] slices) sums the current
// slice and the ks[k]−1 before it, like sampler.State.Window.
type sliceRing struct {
	cells, width int
	slices       [][]uint64
	cur          int
	ks           []int
	sums         [][]uint64
	tick         []uint64
	wins         []Window
}

func newSliceRing(cells int, ks []int) *sliceRing {
	s := 0
	for _, k := range ks {
		s = max(s, k)
	}
	r := &sliceRing{cells: cells, width: cells + numExtra, ks: ks, cur: 0}
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

// flush adds the tick buffer to the current slice and the windows.
func (r *sliceRing) flush() {
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

// rotate starts a new slice: each window drops its oldest slice.
func (r *sliceRing) rotate() {
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

// windows returns the current windows; they alias the ring's sums.
func (r *sliceRing) windows() []Window {
	for i, s := range r.sums {
		w := &r.wins[i]
		w.Cells = s[:r.cells]
		x := s[r.cells:]
		w.Below, w.Above, w.Unseen, w.Missing, w.Invalid = x[xBelow], x[xAbove], x[xUnseen], x[xMissing], x[xInvalid]
	}
	return r.wins
}

// bytes returns the memory of the counters.
func (r *sliceRing) bytes() int { return 8 * r.width * (len(r.slices) + len(r.sums) + 1) }

// nullStream draws rows of a stationary feature: cells with the reference
// proportions, and missing, invalid, out-of-range and unseen values at the
// reference rates, so that the folded cells stay multinomial.
type nullStream struct {
	numeric              bool
	cells                int
	table                aliasTable
	pEdge0, pEdge1       float64 // numeric: P(out of range | first/last cell)
	pOther               float64 // categorical: P(unseen | other cell)
	other                int
	missingAt, invalidAt float64
}

func newNullStream(ref *Reference, props []float64) nullStream {
	c := len(props)
	s := nullStream{numeric: ref.Numeric, cells: c, table: newAlias(props), other: ref.OtherCell}
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

// rows draws n rows into the ring's tick buffer.
func (s *nullStream) rows(r *rand.Rand, ring *sliceRing, n int) {
	t := ring.tick
	c := s.cells
	for range n {
		u := r.Float64()
		switch {
		case u < s.missingAt:
			t[c+xMissing]++
			continue
		case u < s.invalidAt:
			t[c+xInvalid]++
			continue
		}
		i := s.table.draw(r)
		switch {
		case s.numeric && i == 0 && s.pEdge0 > 0 && r.Float64() < s.pEdge0:
			t[c+xBelow]++
		case s.numeric && i == c-1 && s.pEdge1 > 0 && r.Float64() < s.pEdge1:
			t[c+xAbove]++
		case !s.numeric && i == s.other && s.pOther > 0 && r.Float64() < s.pOther:
			t[c+xUnseen]++
		default:
			t[i]++
		}
	}
}
