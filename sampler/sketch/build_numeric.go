package sketch

import (
	"math"
	"slices"
)

// addNum records a valid numeric value.
func (b *builder) addNum(a *acc, x float64) {
	if b.pass2 {
		if a.cand != nil {
			a.candCounts[cellOf(a.cand, x)]++
		}
		return
	}
	a.count++
	d := x - a.mean
	a.mean += d / float64(a.count)
	a.m2 += d * (x - a.mean)
	a.min = min(a.min, x)
	a.max = max(a.max, x)
	if b.sketch {
		a.sk.add(x)
		return
	}
	if len(a.chunks) == 0 || len(a.chunks[len(a.chunks)-1]) == chunkLen {
		a.chunks = append(a.chunks, make([]float64, 0, chunkLen))
	}
	last := len(a.chunks) - 1
	a.chunks[last] = append(a.chunks[last], x)
	b.exact++
	if b.exact*8 > b.opts.ExactBudget {
		b.toSketch()
	}
}

// toSketch moves every numeric feature from exact values to a sketch.
func (b *builder) toSketch() {
	b.sketch = true
	for _, a := range b.numericAccs() {
		a.sk = newQSketch(b.opts.SketchK)
		for i, c := range a.chunks {
			for _, x := range c {
				a.sk.add(x)
			}
			a.chunks[i] = nil
		}
		a.chunks = nil
	}
	b.exact = 0
}

func (b *builder) finishNum(a *acc, fp *FeatureProfile) {
	fp.Method = "exact"
	if a.count == 0 {
		fp.Counts = []uint64{0}
		return
	}
	fp.Mean = a.mean
	fp.Std = math.Sqrt(a.m2 / float64(a.count))
	fp.Min, fp.Max = a.min, a.max
	B := b.opts.Bins
	if b.sketch {
		fp.Method = "sketch"
		fp.RankError = a.sk.rankError()
		view := newSortedView(a.sk.items())
		fp.Quantiles = quantiles(view, B)
		fp.PointMasses = pointMassesView(view, B)
		cand := a.cand
		counts := a.candCounts
		if cand == nil {
			// No second pass: count cells from the sketch.
			cand = candidateEdges(fp.Quantiles, fp.PointMasses, a.min, a.max)
			counts = viewCellCounts(view, cand)
		}
		fp.Edges, fp.Counts = pruneEmpty(cand, counts)
		return
	}
	for _, c := range a.chunks {
		slices.Sort(c)
	}
	m := newMerged(a.chunks)
	// Quantile ranks and point masses in one merged pass.
	fp.Quantiles, fp.PointMasses = exactQuantiles(m, a.count, B)
	cand := candidateEdges(fp.Quantiles, fp.PointMasses, a.min, a.max)
	counts := make([]uint64, len(cand)+1)
	for _, c := range a.chunks {
		lo := 0
		for j, e := range cand {
			hi, _ := slices.BinarySearch(c, math.Nextafter(e, math.Inf(1)))
			counts[j] += uint64(hi - lo)
			lo = hi
		}
		counts[len(cand)] += uint64(len(c) - lo)
	}
	fp.Edges, fp.Counts = pruneEmpty(cand, counts)
	a.chunks = nil
}

// quantiles returns the type-7 quantiles at i/B, i=1..B-1.
func quantiles(v *sortedView, bins int) []float64 {
	q := make([]float64, bins-1)
	for i := 1; i < bins; i++ {
		q[i-1] = v.quantile(float64(i) / float64(bins))
	}
	return q
}

// pointMassesView returns the values whose weight is at least n/B.
func pointMassesView(v *sortedView, bins int) []float64 {
	var out []float64
	for i := 0; i < len(v.items); {
		j := i
		var w uint64
		for j < len(v.items) && v.items[j].v == v.items[i].v {
			w += v.items[j].w
			j++
		}
		if w*uint64(bins) >= v.n {
			out = append(out, v.items[i].v)
		}
		i = j
	}
	return out
}

func viewCellCounts(v *sortedView, edges []float64) []uint64 {
	counts := make([]uint64, len(edges)+1)
	for _, it := range v.items {
		counts[cellOf(edges, it.v)] += it.w
	}
	return counts
}

// cellOf returns the cell of x: the number of edges below x, so that x in
// (e[i-1], e[i]] falls in cell i.
func cellOf(edges []float64, x float64) int {
	lo, hi := 0, len(edges)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if edges[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// candidateEdges merges the quantiles with the point-mass edges (v and the
// float just below v, so v gets a cell of its own), sorts them, drops
// duplicates and keeps those in [min, max).
func candidateEdges(q, pm []float64, lo, hi float64) []float64 {
	c := make([]float64, 0, len(q)+2*len(pm))
	c = append(c, q...)
	for _, v := range pm {
		c = append(c, v, math.Nextafter(v, math.Inf(-1)))
	}
	slices.Sort(c)
	c = slices.Compact(c)
	return slices.DeleteFunc(c, func(e float64) bool { return e < lo || e >= hi })
}

// pruneEmpty removes the right edge of every empty cell, so that every
// reference cell has mass. The first cell holds min and the last holds
// max, so they are never empty.
func pruneEmpty(edges []float64, counts []uint64) ([]float64, []uint64) {
	oe := make([]float64, 0, len(edges))
	oc := make([]uint64, 0, len(counts))
	var carry uint64
	for j, e := range edges {
		if counts[j]+carry == 0 {
			continue
		}
		oe = append(oe, e)
		oc = append(oc, counts[j]+carry)
		carry = 0
	}
	oc = append(oc, counts[len(edges)]+carry)
	return oe, oc
}

// exactQuantiles walks the merged values once, picking the order
// statistics the type-7 quantiles need and the runs of at least n/B equal
// values.
func exactQuantiles(m *merged, n uint64, bins int) (q, pm []float64) {
	// Ranks needed, in order.
	var ranks []uint64
	for i := 1; i < bins; i++ {
		h := float64(n-1) * (float64(i) / float64(bins))
		r := uint64(math.Floor(h))
		ranks = append(ranks, r)
		if r+1 < n {
			ranks = append(ranks, r+1)
		}
	}
	slices.Sort(ranks)
	ranks = slices.Compact(ranks)
	vals := make(map[uint64]float64, len(ranks))
	var (
		k       int
		rank    uint64
		run     uint64
		prev    float64
		started bool
	)
	for {
		v, ok := m.next()
		if !ok {
			break
		}
		if started && v == prev {
			run++
		} else {
			if started && run*uint64(bins) >= n {
				pm = append(pm, prev)
			}
			run = 1
			prev = v
			started = true
		}
		for k < len(ranks) && ranks[k] == rank {
			vals[rank] = v
			k++
		}
		rank++
	}
	if started && run*uint64(bins) >= n {
		pm = append(pm, prev)
	}
	q = make([]float64, bins-1)
	for i := 1; i < bins; i++ {
		q[i-1] = quantileOf(n, func(r uint64) float64 { return vals[r] }, float64(i)/float64(bins))
	}
	return q, pm
}
