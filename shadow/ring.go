package shadow

import (
	"sync"
	"time"
)

// Sample is one recorded disagreement between live and shadow. It never
// holds headers, so stripped headers cannot leak through it.
type Sample struct {
	Time         time.Time `json:"time"`
	Route        string    `json:"route"`
	RequestID    string    `json:"request_id"`
	Method       string    `json:"method"`
	Path         string    `json:"path"`
	LiveStatus   int       `json:"live_status"`
	ShadowStatus int       `json:"shadow_status"`
	Reason       string    `json:"reason"`
	Index        int       `json:"index"` // first differing element, or -1
	Live         string    `json:"live,omitempty"`
	Shadow       string    `json:"shadow,omitempty"`
	Matched      int       `json:"matched"`
	Mismatched   int       `json:"mismatched"`
	RequestBody  string    `json:"request_body,omitempty"`
	LiveBody     string    `json:"live_body"`
	ShadowBody   string    `json:"shadow_body"`
	Truncated    bool      `json:"truncated"`
}

// Ring keeps the last N samples in fixed memory: N samples with bodies of
// at most MaxBody bytes each.
type Ring struct {
	mu          sync.Mutex
	buf         []Sample
	next        int
	full        bool
	maxBody     int
	requestBody bool
}

// NewRing returns a ring of size samples whose bodies are cut to maxBody
// bytes. With keepRequestBody false, request bodies are not stored.
func NewRing(size, maxBody int, keepRequestBody bool) *Ring {
	return &Ring{buf: make([]Sample, size), maxBody: maxBody, requestBody: keepRequestBody}
}

// Add stores s, evicting the oldest sample when full.
func (r *Ring) Add(s Sample) {
	if len(r.buf) == 0 {
		return
	}
	r.mu.Lock()
	r.buf[r.next] = s
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
	r.mu.Unlock()
}

// Snapshot returns the samples, newest first.
func (r *Ring) Snapshot() []Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	out := make([]Sample, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.buf[(r.next-i+len(r.buf))%len(r.buf)])
	}
	return out
}

// cut returns b as a string of at most the ring's body limit.
func (r *Ring) cut(b []byte) (string, bool) {
	if len(b) > r.maxBody {
		return string(b[:r.maxBody]), true
	}
	return string(b), false
}

func (m *Mirror) sample(p *Pending, v *verdict) Sample {
	s := Sample{
		Time:         m.now(),
		Route:        m.spec.Route,
		RequestID:    string(p.req.Header.Peek("X-Request-Id")),
		Method:       string(p.req.Header.Method()),
		Path:         string(p.req.URI().Path()),
		LiveStatus:   p.liveStatus,
		ShadowStatus: p.resp.StatusCode(),
		Reason:       v.reason,
		Index:        v.index,
		Matched:      v.counts[Match],
		Mismatched:   v.counts[Mismatch],
	}
	var cut1, cut2, cut3, cut4, cut5 bool
	s.Live, cut4 = m.ring.cut([]byte(v.liveVal))
	s.Shadow, cut5 = m.ring.cut([]byte(v.shVal))
	if m.ring.requestBody {
		s.RequestBody, cut1 = m.ring.cut(p.req.Body())
	}
	s.LiveBody, cut2 = m.ring.cut(p.liveBody)
	s.ShadowBody, cut3 = m.ring.cut(p.resp.Body())
	s.Truncated = cut1 || cut2 || cut3 || cut4 || cut5 || p.liveCut
	return s
}
