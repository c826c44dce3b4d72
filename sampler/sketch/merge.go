package sketch

import "container/heap"

// merged iterates sorted chunks in order: a k-way merge over a min-heap of
// the chunks' unread tails.
type merged struct{ h tails }

// tail is the unread part of chunk number chunk: head, then rest.
type tail struct {
	head  float64
	rest  []float64
	chunk int
}

// tails is a heap.Interface ordered by the first unread value, then by
// chunk, so that equal values (0 and -0) come out in a fixed order.
type tails []tail

func (h tails) Len() int { return len(h) }
func (h tails) Less(i, j int) bool {
	a, b := h[i].head, h[j].head
	return a < b || a == b && h[i].chunk < h[j].chunk
}
func (h tails) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *tails) Push(x any)   { *h = append(*h, x.(tail)) }
func (h *tails) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

func newMerged(chunks [][]float64) *merged {
	m := &merged{h: make(tails, 0, len(chunks))}
	for i, c := range chunks {
		if len(c) > 0 {
			m.h = append(m.h, tail{head: c[0], rest: c[1:], chunk: i})
		}
	}
	heap.Init(&m.h)
	return m
}

// next returns the next value in order.
func (m *merged) next() (float64, bool) {
	if len(m.h) == 0 {
		return 0, false
	}
	t := &m.h[0]
	v := t.head
	if len(t.rest) == 0 {
		heap.Pop(&m.h)
		return v, true
	}
	t.head, t.rest = t.rest[0], t.rest[1:]
	heap.Fix(&m.h, 0)
	return v, true
}
