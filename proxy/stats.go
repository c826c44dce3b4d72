package proxy

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// armStats are the request counts and durations of one (route, arm), kept
// with atomics: the request path adds to them without locks or
// allocations; the canary guard, the admin API and /metrics read
// snapshots. It must not be copied.
type armStats struct {
	requests [len(statusClasses)]atomic.Uint64
	latency  durations
	// firstToken and interToken time the streamed answers of routes that
	// time tokens: to the first chunk, and between chunks.
	firstToken, interToken durations
	timed                  atomic.Bool // the route times tokens
	created                time.Time
}

// durations is a histogram of atomics at latencyBounds.
type durations struct {
	// buckets count per bucket (not cumulative); the last is +Inf.
	buckets [len(latencyBuckets) + 1]atomic.Uint64
	nanos   atomic.Int64 // sum
}

func (h *durations) observe(d time.Duration) {
	i := 0
	for i < len(latencyBounds) && d > latencyBounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.nanos.Add(int64(d))
}

// snapshot reads h as cumulative counts at latencyBuckets.
func (h *durations) snapshot() Histogram {
	out := Histogram{Buckets: make([]uint64, len(latencyBuckets))}
	for i := range h.buckets {
		out.Count += h.buckets[i].Load()
		if i < len(out.Buckets) {
			out.Buckets[i] = out.Count
		}
	}
	out.Sum = time.Duration(h.nanos.Load()).Seconds()
	return out
}

// Histogram is a read of a duration histogram: cumulative counts at the
// upper bounds of ArmStats.Bounds, the +Inf count and the sum in seconds.
type Histogram struct {
	Buckets []uint64
	Count   uint64
	Sum     float64
}

// latencyBounds are latencyBuckets as durations, for the request path.
var latencyBounds = func() (out [len(latencyBuckets)]time.Duration) {
	for i, b := range latencyBuckets {
		out[i] = time.Duration(math.Round(b * float64(time.Second)))
	}
	return out
}()

// observe records one answered request.
func (a *armStats) observe(class int, d time.Duration) {
	a.requests[class].Add(1)
	a.latency.observe(d)
}

// armSnapshot is a read of armStats with cumulative buckets.
type armSnapshot struct {
	ArmStats
	count uint64
	sum   float64 // seconds
}

func (a *armStats) snapshot() armSnapshot {
	var st armSnapshot
	for class := range a.requests {
		n := a.requests[class].Load()
		st.Requests += n
		if class == 5 {
			st.Errors += n
		}
	}
	st.Bounds = latencyBuckets[:]
	lat := a.latency.snapshot()
	st.Buckets, st.count, st.sum = lat.Buckets, lat.Count, lat.Sum
	if a.timed.Load() {
		st.FirstToken, st.InterToken = a.firstToken.snapshot(), a.interToken.snapshot()
	}
	return st
}

// ArmStats are the cumulative counts of one arm of a route.
type ArmStats struct {
	Arm string
	// Requests counts answered requests; Errors those answered 5xx.
	Requests, Errors uint64
	// Buckets are cumulative request-duration counts at the upper bounds
	// in Bounds; the +Inf count is Requests.
	Buckets []uint64
	Bounds  []float64
	// FirstToken and InterToken time the arm's streamed answers on a
	// route that times tokens: to the first chunk of the body, and
	// between chunks. Zero on other routes.
	FirstToken, InterToken Histogram
}

// Stats returns the cumulative stats of every arm of route, in split
// order, or nil if no such route serves.
func (s *Server) Stats(route string) []ArmStats {
	t := s.table.Load()
	for _, r := range t.routes {
		if r.name != route {
			continue
		}
		out := make([]ArmStats, 0, len(r.arms))
		for _, a := range r.arms {
			st := a.metrics.stats.snapshot().ArmStats
			st.Arm = a.name
			out = append(out, st)
		}
		return out
	}
	return nil
}

// ArmStats returns the cumulative stats of one arm of route; ok is false
// if no such arm serves.
func (s *Server) ArmStats(route, arm string) (st ArmStats, ok bool) {
	t := s.table.Load()
	for _, r := range t.routes {
		if r.name != route {
			continue
		}
		if i := r.armByName([]byte(arm)); i >= 0 {
			st = r.arms[i].metrics.stats.snapshot().ArmStats
			st.Arm = arm
			return st, true
		}
	}
	return ArmStats{}, false
}

// SetWeight overrides the weight of one arm of route in the table now
// serving, e.g. to roll a canary back to 0. The override lasts until the
// next Apply.
func (s *Server) SetWeight(routeName, arm string, weight int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.table.Load()
	next := &table{cfg: old.cfg, routes: make([]*route, len(old.routes))}
	found := false
	for i, r := range old.routes {
		next.routes[i] = r
		if r.name != routeName {
			continue
		}
		j := r.armByName([]byte(arm))
		if j < 0 {
			return fmt.Errorf("route %q has no arm %q", routeName, arm)
		}
		names := make([]string, len(r.arms))
		weights := make([]int, len(r.arms))
		for k, a := range r.arms {
			names[k], weights[k] = a.name, int(r.choose.weights[k])
		}
		weights[j] = weight
		total := 0
		for _, w := range weights {
			total += w
		}
		if total == 0 {
			return fmt.Errorf("route %q: weight %d for %q leaves no arm with weight", routeName, weight, arm)
		}
		rc := *r
		rc.choose = newChooser(names, weights)
		next.routes[i] = &rc
		found = true
	}
	if !found {
		return fmt.Errorf("no route %q", routeName)
	}
	s.table.Store(next)
	return nil
}
