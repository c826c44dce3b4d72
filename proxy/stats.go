package proxy

import (
	"fmt"
	"math"

	dto "github.com/prometheus/client_model/go"
)

// ArmStats are the cumulative counts of one arm of a route, read from its
// metrics, for the canary guard.
type ArmStats struct {
	Arm string
	// Requests counts answered requests; Errors those answered 5xx.
	Requests, Errors uint64
	// Buckets are cumulative request-duration counts at the upper bounds
	// in Bounds (the last bucket is +Inf, which is Requests).
	Buckets []uint64
	Bounds  []float64
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
			out = append(out, a.metrics.stats(a.name))
		}
		return out
	}
	return nil
}

func (am *armMetrics) stats(arm string) ArmStats {
	st := ArmStats{Arm: arm, Bounds: latencyBuckets}
	var m dto.Metric
	for class, c := range am.requests {
		m.Reset()
		if err := c.Write(&m); err != nil {
			continue
		}
		n := uint64(m.GetCounter().GetValue())
		st.Requests += n
		if class == 5 {
			st.Errors += n
		}
	}
	m.Reset()
	if h, ok := am.duration.(interface{ Write(*dto.Metric) error }); ok && h.Write(&m) == nil {
		for _, b := range m.GetHistogram().GetBucket() {
			st.Buckets = append(st.Buckets, b.GetCumulativeCount())
		}
	}
	return st
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

// Quantile estimates the q-quantile of the arm's request durations by
// linear interpolation within a bucket, as PromQL's histogram_quantile
// does; NaN without requests.
func (a ArmStats) Quantile(q float64) float64 {
	return BucketQuantile(a.Bounds, a.Buckets, q)
}

// BucketQuantile estimates the q-quantile of a histogram from its upper
// bounds and cumulative counts (the last count is taken as the total).
func BucketQuantile(bounds []float64, cumulative []uint64, q float64) float64 {
	if len(cumulative) == 0 || cumulative[len(cumulative)-1] == 0 {
		return math.NaN()
	}
	rank := q * float64(cumulative[len(cumulative)-1])
	var lower float64
	var prev uint64
	for i, c := range cumulative {
		if i >= len(bounds) {
			break
		}
		if float64(c) >= rank {
			in := float64(c - prev)
			if in == 0 {
				return bounds[i]
			}
			return lower + (bounds[i]-lower)*(rank-float64(prev))/in
		}
		prev, lower = c, bounds[i]
	}
	return lower
}
