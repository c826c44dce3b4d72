package grpcproxy

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
)

// armStats are the call counts and durations of one (route, arm), kept
// with atomics for the canary guard: the call path adds to them without
// locks or allocations, and ArmStats reads snapshots. They outlive a
// table that keeps the arm. It must not be copied.
type armStats struct {
	requests atomic.Uint64
	errors   atomic.Uint64
	// buckets count per bucket (not cumulative); the last is +Inf.
	buckets [len(latencyBuckets) + 1]atomic.Uint64
}

// latencyBounds are latencyBuckets as durations, for the call path.
var latencyBounds = func() (out [len(latencyBuckets)]time.Duration) {
	for i, b := range latencyBuckets {
		out[i] = time.Duration(math.Round(b * float64(time.Second)))
	}
	return out
}()

// serverError reports whether code is the upstream's failure rather than
// the client's: the codes that map to HTTP 5xx.
func serverError(code codes.Code) bool {
	switch code {
	case codes.Unknown, codes.DeadlineExceeded, codes.Unimplemented, codes.Internal, codes.Unavailable, codes.DataLoss:
		return true
	}
	return false
}

func (a *armStats) observe(code codes.Code, d time.Duration) {
	a.requests.Add(1)
	if serverError(code) {
		a.errors.Add(1)
	}
	i := 0
	for i < len(latencyBounds) && d > latencyBounds[i] {
		i++
	}
	a.buckets[i].Add(1)
}

// ArmStats are the cumulative counts of one arm of a route, in the shape
// of proxy.ArmStats so the two can be added.
type ArmStats struct {
	Arm string
	// Requests counts finished calls; Errors those whose status is the
	// upstream's failure (Unknown, DeadlineExceeded, Unimplemented,
	// Internal, Unavailable, DataLoss), as HTTP counts 5xx.
	Requests, Errors uint64
	// Buckets are cumulative call-duration counts at the upper bounds in
	// Bounds (the HTTP proxy's); the +Inf count is Requests.
	Buckets []uint64
	Bounds  []float64
}

func (a *armStats) snapshot(arm string) ArmStats {
	st := ArmStats{Arm: arm, Bounds: latencyBuckets[:], Buckets: make([]uint64, len(latencyBuckets))}
	var n uint64
	for i := range a.buckets {
		n += a.buckets[i].Load()
		if i < len(st.Buckets) {
			st.Buckets[i] = n
		}
	}
	// Read after the buckets, so Requests is never below their total.
	st.Requests, st.Errors = max(a.requests.Load(), n), a.errors.Load()
	return st
}

// armSet holds the stats of every (route, arm) a table has served.
type armSet struct {
	mu   sync.Mutex
	arms map[[2]string]*armStats
}

func (s *armSet) get(route, arm string) *armStats {
	k := [2]string{route, arm}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.arms == nil {
		s.arms = make(map[[2]string]*armStats)
	}
	a := s.arms[k]
	if a == nil {
		a = new(armStats)
		s.arms[k] = a
	}
	return a
}

func (s *armSet) forget(route, arm string) {
	s.mu.Lock()
	delete(s.arms, [2]string{route, arm})
	s.mu.Unlock()
}

// Stats returns the cumulative stats of every arm of route, in split
// order, or nil if no such route serves gRPC.
func (s *Server) Stats(route string) []ArmStats {
	for _, r := range s.table.Load().routes {
		if r.name != route {
			continue
		}
		out := make([]ArmStats, 0, len(r.arms))
		for _, a := range r.arms {
			out = append(out, a.metrics.stats.snapshot(a.name))
		}
		return out
	}
	return nil
}

// ArmStats returns the cumulative stats of one arm of route; ok is false
// if no such arm serves gRPC.
func (s *Server) ArmStats(route, arm string) (ArmStats, bool) {
	for _, r := range s.table.Load().routes {
		if r.name != route {
			continue
		}
		for _, a := range r.arms {
			if a.name == arm {
				return a.metrics.stats.snapshot(arm), true
			}
		}
	}
	return ArmStats{}, false
}

// Serves reports whether route is in the table now serving.
func (s *Server) Serves(route string) bool {
	for _, r := range s.table.Load().routes {
		if r.name == route {
			return true
		}
	}
	return false
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
		names := make([]string, len(r.arms))
		weights := make([]int, len(r.arms))
		j := -1
		for k, a := range r.arms {
			names[k], weights[k] = a.name, int(r.choose.weights[k])
			if a.name == arm {
				j = k
			}
		}
		if j < 0 {
			return fmt.Errorf("route %q has no arm %q", routeName, arm)
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
		return fmt.Errorf("no grpc route %q", routeName)
	}
	s.table.Store(next)
	return nil
}
