package shadow

import (
	"bytes"
	"fmt"
	"math"
	"strconv"

	"google.golang.org/grpc/codes"

	"github.com/driftcar/driftcar/internal/payload"
)

// comparator holds one prediction decoder per side, since a decoded
// label aliases its decoder's memory. It is owned by one goroutine at a
// time (Mirror pools them).
type comparator struct {
	live, shadow *payload.ResponseDecoder
	tol          Compare
	verdict      verdict
}

// newComparator needs a spec that passed Check.
func newComparator(spec Spec) (*comparator, error) {
	live, err := payload.NewResponseDecoder(spec.Protocol, spec.Prediction, payload.DecoderOptions{})
	if err != nil {
		return nil, err
	}
	shadow, _ := payload.NewResponseDecoder(spec.Protocol, spec.Prediction, payload.DecoderOptions{})
	return &comparator{live: live, shadow: shadow, tol: spec.Compare}, nil
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
	// shadowPreds are the shadow's predictions when both sides answered
	// 2xx; they alias the comparator's decoder.
	shadowPreds []payload.Prediction
}

// outcome names the pair's verdict as a whole.
func (v *verdict) outcome() string {
	switch {
	case v.statusDiffer:
		return "status_mismatch"
	case v.failedAlike:
		return "failed_alike"
	case v.counts[Undecodable] > 0:
		return Undecodable.String()
	case v.counts[Mismatch] > 0:
		return Mismatch.String()
	}
	return Match.String()
}

// comparePair compares the live and shadow bodies of one pair. liveHdr
// and shadowHdr are their binary tensor header lengths, or
// payload.JSONBody.
func (c *comparator) comparePair(liveStatus int, liveBody []byte, liveHdr int, liveCut bool, shadowStatus int, shadowBody []byte, shadowHdr int, v *verdict) {
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
	le, lerr := c.live.DecodeBinary(liveBody, liveHdr)
	se, serr := c.shadow.DecodeBinary(shadowBody, shadowHdr)
	c.comparePredictions(le, lerr, liveCut, se, serr, v)
}

// compareModelInfer compares the live and shadow answers of one ModelInfer
// call: their status codes, then the predictions of two serialized
// ModelInferResponses.
func (c *comparator) compareModelInfer(liveCode codes.Code, live []byte, liveCut bool, shadowCode codes.Code, shadow []byte, v *verdict) {
	*v = verdict{absDiffs: v.absDiffs[:0], index: -1}
	if liveCode != shadowCode {
		v.statusDiffer = true
		v.reason = "code " + liveCode.String() + " vs " + shadowCode.String()
		return
	}
	if liveCode != codes.OK {
		v.failedAlike = true
		return
	}
	le, lerr := c.live.DecodeModelInfer(live)
	se, serr := c.shadow.DecodeModelInfer(shadow)
	c.comparePredictions(le, lerr, liveCut, se, serr, v)
}

// comparePredictions compares two decoded sides element by element.
func (c *comparator) comparePredictions(le []payload.Prediction, lerr error, liveCut bool, se []payload.Prediction, serr error, v *verdict) {
	v.shadowPreds = se
	if lerr == nil {
		lerr = unreadable(le)
	}
	if serr == nil {
		serr = unreadable(se)
	}
	if lerr != nil || liveCut || serr != nil {
		v.counts[Undecodable]++
		switch {
		case liveCut:
			v.reason = "live body longer than max_live_body"
		case lerr != nil:
			v.reason = "live predictions undecodable: " + reasonText(lerr)
		default:
			v.reason = "shadow predictions undecodable: " + reasonText(serr)
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

// unreadable returns an error for the first prediction that is invalid
// or missing: such a body is undecodable as a whole.
func unreadable(preds []payload.Prediction) error {
	for i := range preds {
		if k := preds[i].Kind; k == payload.PredictionInvalid || k == payload.PredictionMissing {
			return fmt.Errorf("row %d is %s", i, preds[i].String())
		}
	}
	return nil
}

func (c *comparator) element(l, s *payload.Prediction, v *verdict) Outcome {
	if l.Kind != s.Kind {
		return Mismatch
	}
	switch l.Kind {
	case payload.PredictionNumber:
		d := math.Abs(l.Num - s.Num)
		v.absDiffs = append(v.absDiffs, d)
		if d <= c.tol.AbsTolerance+c.tol.RelTolerance*math.Abs(l.Num) {
			return Match
		}
	case payload.PredictionBool:
		if l.Num == s.Num {
			return Match
		}
	case payload.PredictionLabel:
		if bytes.Equal(l.Text, s.Text) {
			return Match
		}
	case payload.PredictionScores:
		if l.Class == s.Class {
			return Match
		}
	case payload.PredictionCompletion:
		// Exact text and finish reason: meaningful at temperature 0.
		if bytes.Equal(l.Text, s.Text) && bytes.Equal(l.Content, s.Content) {
			return Match
		}
	}
	return Mismatch
}

func reasonText(err error) string {
	if r, ok := payload.ReasonOf(err); ok {
		return r.String()
	}
	return err.Error()
}

// compare runs comparePair for p and records the verdict.
func (m *Mirror) compare(c *comparator, p *Pending) {
	v := &c.verdict
	shadowHdr := payload.ParseHeaderLength(p.resp.Header.Peek(payload.BinaryHeader))
	c.comparePair(p.liveStatus, p.liveBody, p.liveHdr, p.liveCut, p.resp.StatusCode(), p.resp.Body(), shadowHdr, v)
	if m.record(v) && m.ring != nil {
		m.ring.Add(m.sample(p, v))
	}
}

// record counts a verdict and reports whether it deserves a sample.
func (m *Mirror) record(v *verdict) bool {
	rm := m.metrics
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
	return v.statusDiffer || v.counts[Mismatch] > 0 || v.counts[Undecodable] > 0
}
