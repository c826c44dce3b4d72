package shadow

import (
	"bytes"
	"math"
	"strconv"
)

// comparator holds one decoder per side. It is owned by one goroutine at a
// time (Mirror pools them).
type comparator struct {
	live, shadow decoder
	tol          Compare
	verdict      verdict
}

func newComparator(spec Spec) *comparator {
	path := parsePath(spec.Compare.Path)
	return &comparator{
		live:   decoder{protocol: spec.Protocol, path: path},
		shadow: decoder{protocol: spec.Protocol, path: path},
		tol:    spec.Compare,
	}
}

// verdict is the comparison of one pair.
type verdict struct {
	counts       [numOutcomes]int
	absDiffs     []float64 // for numeric elements
	statusDiffer bool
	failedAlike  bool
	// first mismatch or undecodable side, for the sample
	reason         string
	index          int
	liveVal, shVal string
}

// comparePair compares the live and shadow bodies of one pair.
func (c *comparator) comparePair(liveStatus int, liveBody []byte, liveCut bool, shadowStatus int, shadowBody []byte, v *verdict) {
	*v = verdict{absDiffs: v.absDiffs[:0], index: -1}
	if liveStatus != shadowStatus {
		v.statusDiffer = true
		v.reason = "status " + strconv.Itoa(liveStatus) + " vs " + strconv.Itoa(shadowStatus)
		return
	}
	if liveStatus < 200 || liveStatus > 299 {
		v.failedAlike = true // no predictions to compare
		return
	}
	le, lok := c.live.decode(liveBody)
	se, sok := c.shadow.decode(shadowBody)
	if !lok || liveCut || !sok {
		v.counts[Undecodable]++
		switch {
		case liveCut:
			v.reason = "live body longer than max_live_body"
		case !lok:
			v.reason = "live predictions undecodable"
		default:
			v.reason = "shadow predictions undecodable"
		}
		return
	}
	n := max(len(le), len(se))
	for i := range n {
		var o Outcome
		if i >= len(le) || i >= len(se) {
			o = Mismatch
		} else {
			o = c.element(&le[i], &se[i], v)
		}
		v.counts[o]++
		if o != Match && v.index < 0 {
			v.index = i
			v.reason = "prediction differs"
			if i >= len(le) || i >= len(se) {
				v.reason = "prediction count " + strconv.Itoa(len(le)) + " vs " + strconv.Itoa(len(se))
			} else {
				v.liveVal, v.shVal = le[i].String(), se[i].String()
			}
		}
	}
}

func (c *comparator) element(l, s *element, v *verdict) Outcome {
	if l.kind != s.kind {
		return Mismatch
	}
	switch l.kind {
	case elemNumber:
		d := math.Abs(l.num - s.num)
		v.absDiffs = append(v.absDiffs, d)
		if d <= c.tol.AbsTolerance+c.tol.RelTolerance*math.Abs(l.num) {
			return Match
		}
	case elemLabel:
		if bytes.Equal(l.label, s.label) {
			return Match
		}
	case elemScores:
		if l.argmax == s.argmax {
			return Match
		}
	}
	return Mismatch
}

func (e *element) String() string {
	switch e.kind {
	case elemNumber:
		return strconv.FormatFloat(e.num, 'g', -1, 64)
	case elemLabel:
		return strconv.Quote(string(e.label))
	case elemScores:
		return "class " + strconv.Itoa(e.argmax) + " (score " + strconv.FormatFloat(e.num, 'g', 6, 64) + ")"
	}
	return "?"
}

// compare runs comparePair for p and records the verdict.
func (m *Mirror) compare(c *comparator, p *Pending) {
	rm := m.metrics
	v := &c.verdict
	c.comparePair(p.liveStatus, p.liveBody, p.liveCut, p.resp.StatusCode(), p.resp.Body(), v)
	if v.statusDiffer {
		rm.status.Inc()
	}
	if v.failedAlike {
		rm.failedAlike.Inc()
	}
	for o, n := range v.counts {
		if n > 0 {
			rm.outcomes[o].Add(float64(n))
		}
	}
	for _, d := range v.absDiffs {
		rm.absDiff.Observe(d)
	}
	if m.ring != nil && (v.statusDiffer || v.counts[Mismatch] > 0 || v.counts[Undecodable] > 0) {
		m.ring.Add(m.sample(p, v))
	}
}
