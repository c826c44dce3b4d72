package sketch

import (
	"bytes"
	"slices"
)

// TopKeyLen is the longest value a top-k entry keeps; longer values are
// truncated (and values sharing the first TopKeyLen bytes share an entry).
const TopKeyLen = 48

type topEntry struct {
	key   [TopKeyLen]byte
	n     uint8
	trunc bool
	count uint64
	err   uint64
}

// spaceSaving is the Space-Saving heavy-hitter summary (Metwally, Agrawal
// and El Abbadi 2005) with m fixed entries: a counted value's estimate
// overcounts by at most err, and err <= N/m. It is not safe for
// concurrent use.
type spaceSaving struct {
	e    []topEntry
	used int
}

func newSpaceSaving(m int) *spaceSaving { return &spaceSaving{e: make([]topEntry, m)} }

func (s *spaceSaving) add(v []byte) {
	if len(s.e) == 0 {
		return
	}
	kl := min(len(v), TopKeyLen)
	trunc := len(v) > TopKeyLen
	k := v[:kl]
	for i := 0; i < s.used; i++ {
		e := &s.e[i]
		if int(e.n) == kl && e.trunc == trunc && bytes.Equal(e.key[:kl], k) {
			e.count++
			return
		}
	}
	if s.used < len(s.e) {
		e := &s.e[s.used]
		s.used++
		*e = topEntry{n: uint8(kl), trunc: trunc, count: 1}
		copy(e.key[:], k)
		return
	}
	m := 0
	for i := 1; i < s.used; i++ {
		if s.e[i].count < s.e[m].count {
			m = i
		}
	}
	e := &s.e[m]
	c := e.count
	*e = topEntry{n: uint8(kl), trunc: trunc, count: c + 1, err: c}
	copy(e.key[:], k)
}

// decay halves every count, dropping entries that reach zero, so the
// summary favours recent values.
func (s *spaceSaving) decay() {
	j := 0
	for i := 0; i < s.used; i++ {
		e := s.e[i]
		e.count /= 2
		e.err /= 2
		if e.count > 0 {
			s.e[j] = e
			j++
		}
	}
	for i := j; i < s.used; i++ {
		s.e[i] = topEntry{}
	}
	s.used = j
}

// TopValue is a frequent value of a top-k summary.
type TopValue struct {
	Value string `json:"value"`
	// Count is the estimated count (decayed); the true count is in
	// [Count-Err, Count].
	Count uint64 `json:"count"`
	Err   uint64 `json:"err"`
	// Truncated is set when Value is the first TopKeyLen bytes of longer
	// values.
	Truncated bool `json:"truncated,omitempty"`
}

func (s *spaceSaving) top() []TopValue {
	out := make([]TopValue, 0, s.used)
	for i := 0; i < s.used; i++ {
		e := &s.e[i]
		out = append(out, TopValue{Value: string(e.key[:e.n]), Count: e.count, Err: e.err, Truncated: e.trunc})
	}
	slices.SortStableFunc(out, func(a, b TopValue) int {
		switch {
		case a.Count > b.Count:
			return -1
		case a.Count < b.Count:
			return 1
		case a.Value < b.Value:
			return -1
		case a.Value > b.Value:
			return 1
		}
		return 0
	})
	return out
}
