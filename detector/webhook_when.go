package detector

import (
	"strconv"
	"time"
)

// Signals are a route's measurements that trigger conditions test, as the
// integrator computes them. A Signal that is not OK (no traffic, no
// shadow) fails every condition on it.
type Signals struct {
	// Drift reports whether the route's inputs drift now. It must be true
	// by the time the Monitor's Notify for the route returns, and stay
	// true until the drift ends.
	Drift bool
	// LatencyP99Ratio is the route's recent p99 latency over its baseline.
	LatencyP99Ratio Signal
	// ShadowAgreement is the share of recent shadow comparisons that match.
	ShadowAgreement Signal
	// ErrorRate is the route's recent share of failed requests.
	ErrorRate Signal
}

// Signal is one measurement; OK is false when it cannot be measured.
type Signal struct {
	Value float64
	OK    bool
}

// Measured returns an OK Signal of v.
func Measured(v float64) Signal { return Signal{Value: v, OK: true} }

// ConditionKind names what a Condition tests.
type ConditionKind uint8

// The condition kinds.
const (
	// CondDrift holds while Signals.Drift is true.
	CondDrift ConditionKind = iota + 1
	// CondLatencyP99RatioAbove holds when LatencyP99Ratio > Value.
	CondLatencyP99RatioAbove
	// CondShadowAgreementBelow holds when ShadowAgreement < Value.
	CondShadowAgreementBelow
	// CondErrorRateAbove holds when ErrorRate > Value.
	CondErrorRateAbove
)

// Condition is one test of a multi-condition trigger.
type Condition struct {
	Kind  ConditionKind
	Value float64
}

// Holds reports whether c holds for s.
func (c Condition) Holds(s Signals) bool {
	switch c.Kind {
	case CondDrift:
		return s.Drift
	case CondLatencyP99RatioAbove:
		return s.LatencyP99Ratio.OK && s.LatencyP99Ratio.Value > c.Value
	case CondShadowAgreementBelow:
		return s.ShadowAgreement.OK && s.ShadowAgreement.Value < c.Value
	case CondErrorRateAbove:
		return s.ErrorRate.OK && s.ErrorRate.Value > c.Value
	}
	return false
}

// String returns the condition as the config spells it.
func (c Condition) String() string {
	v := strconv.FormatFloat(c.Value, 'g', -1, 64)
	switch c.Kind {
	case CondDrift:
		return "drift"
	case CondLatencyP99RatioAbove:
		return "latency_p99_ratio_above " + v
	case CondShadowAgreementBelow:
		return "shadow_agreement_below " + v
	case CondErrorRateAbove:
		return "error_rate_above " + v
	}
	return "unknown condition"
}

// allHold reports whether every condition holds for s.
func allHold(when []Condition, s Signals) bool {
	for _, c := range when {
		if !c.Holds(s) {
			return false
		}
	}
	return true
}

// maxHeld bounds the drift alerts waiting for their conditions, one per
// route.
const maxHeld = 1024

// heldAlert is a drift alert waiting for the conditions of When.
type heldAlert struct {
	p     Payload
	since time.Time
}

// hold parks p until its conditions hold, replacing an older alert of the
// same route but keeping its start, and wakes the sender to check.
func (w *Webhook) hold(p Payload, now time.Time) {
	w.mu.Lock()
	h, ok := w.held[p.Route]
	switch {
	case ok:
		h.p = p
	case len(w.held) >= maxHeld:
		w.mu.Unlock()
		w.heldFull.Add(1)
		return
	default:
		h = heldAlert{p: p, since: now}
	}
	w.held[p.Route] = h
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Recheck evaluates the held drift alerts: one whose conditions all hold
// is queued (subject to the cooldown), one whose route no longer drifts or
// that waited MaxHold is dropped and counted. With no conditions left
// (after Reconfigure) every held alert is queued. Run calls it every
// Recheck and after each held Notify; it calls Signals outside any lock of
// the Webhook, on the caller's goroutine.
func (w *Webhook) Recheck() {
	w.recheckMu.Lock()
	defer w.recheckMu.Unlock()
	opts := w.opts.Load()
	w.mu.Lock()
	if len(w.held) == 0 {
		w.mu.Unlock()
		return
	}
	held := make([]heldAlert, 0, len(w.held))
	for _, h := range w.held {
		held = append(held, h)
	}
	w.mu.Unlock()
	for _, h := range held {
		now := opts.Now()
		var s Signals
		if opts.Signals != nil {
			s = opts.Signals(h.p.Route)
		}
		switch {
		case len(opts.When) == 0 || allHold(opts.When, s):
			if p, ok := w.take(h.p.Route); ok {
				w.enqueue(opts, p, now)
			}
		case !s.Drift || now.Sub(h.since) >= opts.MaxHold:
			if _, ok := w.take(h.p.Route); ok {
				w.unmet.Add(1)
			}
		}
	}
}

// take removes and returns the held alert of route, which may be newer
// than the one that was evaluated.
func (w *Webhook) take(route string) (Payload, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h, ok := w.held[route]
	delete(w.held, route)
	return h.p, ok
}
