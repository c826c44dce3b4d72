package sketch

// merged iterates sorted chunks in order.
type merged struct {
	chunks [][]float64
	pos    []int
	heap   []int // chunk indexes, min-heap by current value
}

func newMerged(chunks [][]float64) *merged {
	m := &merged{chunks: chunks, pos: make([]int, len(chunks))}
	for i, c := range chunks {
		if len(c) > 0 {
			m.heap = append(m.heap, i)
		}
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return m
}

func (m *merged) val(h int) float64 { c := m.heap[h]; return m.chunks[c][m.pos[c]] }

func (m *merged) less(i, j int) bool {
	a, b := m.val(i), m.val(j)
	return a < b || a == b && m.heap[i] < m.heap[j]
}

func (m *merged) down(i int) {
	n := len(m.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		s := l
		if r := l + 1; r < n && m.less(r, l) {
			s = r
		}
		if !m.less(s, i) {
			return
		}
		m.heap[i], m.heap[s] = m.heap[s], m.heap[i]
		i = s
	}
}

// next returns the next value in order.
func (m *merged) next() (float64, bool) {
	if len(m.heap) == 0 {
		return 0, false
	}
	c := m.heap[0]
	v := m.chunks[c][m.pos[c]]
	m.pos[c]++
	if m.pos[c] == len(m.chunks[c]) {
		m.heap[0] = m.heap[len(m.heap)-1]
		m.heap = m.heap[:len(m.heap)-1]
	}
	if len(m.heap) > 0 {
		m.down(0)
	}
	return v, true
}
