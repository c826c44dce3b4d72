package sidecar

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/driftcar/driftcar/detector"
)

// signalWindow is how far back the webhook's conditions look.
const signalWindow = 5 * time.Minute

// maxSignalSamples bounds the samples kept per route.
const maxSignalSamples = 64

// agreement counts a route's shadow comparisons, from the shadow answers.
type agreement struct{ compared, matched atomic.Uint64 }

// signals measures what a webhook's `when` can require, from the jobs'
// own state: the drift monitor, the canary guard's last checks, the
// proxy's per-arm counts and the shadow's answers. Safe for concurrent
// use.
type signals struct {
	s   *Sidecar
	now func() time.Time

	mu      sync.Mutex
	samples map[string][]signalSample // per route, oldest first
}

type signalSample struct {
	at                 time.Time
	requests, errors   uint64
	compared, matching uint64
}

// of returns the signals of route now.
func (g *signals) of(route string) detector.Signals {
	var out detector.Signals
	if m := g.s.currentMonitor(); m != nil {
		v := m.View()
		for _, r := range v.Routes {
			if r.Route == route && r.Dataset != nil {
				out.Drift = r.Dataset.State == "drift"
			}
		}
		for _, c := range v.Canary {
			if c.Route != route {
				continue
			}
			worst := math.NaN()
			for _, ch := range c.Checks {
				if ch.P99Ratio != nil && !(*ch.P99Ratio <= worst) {
					worst = *ch.P99Ratio
				}
			}
			if !math.IsNaN(worst) {
				out.LatencyP99Ratio = detector.Measured(worst)
			}
		}
	}
	cur := signalSample{at: g.now()}
	for _, a := range g.s.proxy.Stats(route) {
		cur.requests += a.Requests
		cur.errors += a.Errors
	}
	if ag := g.s.answers.agreement(route); ag != nil {
		cur.compared, cur.matching = ag.compared.Load(), ag.matched.Load()
	}
	base := g.record(route, cur)
	if n := cur.requests - base.requests; n > 0 {
		out.ErrorRate = detector.Measured(float64(cur.errors-base.errors) / float64(n))
	}
	if n := cur.compared - base.compared; n > 0 {
		out.ShadowAgreement = detector.Measured(float64(cur.matching-base.matching) / float64(n))
	}
	return out
}

// record adds cur to route's samples and returns the oldest one within
// the window (cur itself when there is none: nothing measured yet).
func (g *signals) record(route string, cur signalSample) signalSample {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.samples == nil {
		g.samples = map[string][]signalSample{}
	}
	ss := g.samples[route]
	// Counters restart when a config change replaces an arm: start over.
	if len(ss) > 0 && (ss[len(ss)-1].requests > cur.requests || ss[len(ss)-1].compared > cur.compared) {
		ss = ss[:0]
	}
	ss = append(ss, cur)
	for len(ss) > 1 && (cur.at.Sub(ss[1].at) >= signalWindow || len(ss) > maxSignalSamples) {
		ss = ss[1:]
	}
	g.samples[route] = ss
	return ss[0]
}
