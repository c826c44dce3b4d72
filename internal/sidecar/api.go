package sidecar

import (
	"math"
	"time"

	"github.com/driftcar/driftcar/detector/stat"
)

// featureWindows are the live windows /api/features shows, in slices.
var featureWindows = []int{5, 60}

func (s *Sidecar) featuresAPI() any {
	set := s.features.Current()
	if set == nil {
		return []any{}
	}
	return set.Views(featureWindows...)
}

func (s *Sidecar) referenceAPI() any {
	set := s.features.Current()
	if set == nil {
		return map[string]any{"configured": false}
	}
	if rows, want, ok := set.Learning(); ok {
		return map[string]any{"configured": true, "learning": true, "rows": rows, "samples": want}
	}
	return set.Profile()
}

func (s *Sidecar) driftAPI() any {
	m := s.currentMonitor()
	if m == nil {
		return map[string]any{"configured": false}
	}
	return m.View()
}

// TickDrift runs one drift evaluation at now (for tests with ManualTicks).
func (s *Sidecar) TickDrift(now time.Time) {
	if m := s.currentMonitor(); m != nil {
		m.Tick(now)
	}
	if w := s.webhook.Load(); w != nil {
		w.Recheck() // alerts waiting for their conditions
	}
}

// RouteStats is one route on /api/routes: cumulative counts since start,
// for the web page to turn into rates.
type RouteStats struct {
	Route  string         `json:"route"`
	Arms   []ArmStatsView `json:"arms"`
	Shadow *ShadowStats   `json:"shadow,omitempty"`
}

// ArmStatsView is one arm's cumulative requests, 5xx and latency.
type ArmStatsView struct {
	Arm      string  `json:"arm"`
	Weight   int     `json:"weight"`
	Requests uint64  `json:"requests"`
	Errors   uint64  `json:"errors"`
	P50      float64 `json:"p50_seconds"`
	P99      float64 `json:"p99_seconds"`
}

// ShadowStats are a route's shadow comparisons.
type ShadowStats struct {
	Upstream    string            `json:"upstream"`
	Requests    map[string]uint64 `json:"requests"`
	Comparisons map[string]uint64 `json:"comparisons"`
	P50         float64           `json:"p50_seconds"`
	P99         float64           `json:"p99_seconds"`
}

func (s *Sidecar) routesAPI() any {
	cfg := s.cfg.Load()
	out := []RouteStats{}
	for _, r := range cfg.Routes {
		rs := RouteStats{Route: r.Name, Arms: []ArmStatsView{}}
		for i, a := range s.proxy.Stats(r.Name) {
			v := ArmStatsView{Arm: a.Arm, Requests: a.Requests, Errors: a.Errors,
				P50: finite(stat.BucketQuantile(a.Bounds, a.Buckets, 0.5)), P99: finite(stat.BucketQuantile(a.Bounds, a.Buckets, 0.99))}
			if i < len(r.Split) && r.Split[i].Weight != nil {
				v.Weight = *r.Split[i].Weight
			}
			rs.Arms = append(rs.Arms, v)
		}
		if r.Shadow != nil {
			rs.Shadow = s.shadowStats(r.Name, r.Shadow.Upstream)
		}
		out = append(out, rs)
	}
	return out
}

func (s *Sidecar) shadowStats(route, upstream string) *ShadowStats {
	st := s.shadowMetrics.Stats(route)
	return &ShadowStats{
		Upstream: upstream, Requests: st.Results, Comparisons: st.Outcomes,
		P50: finite(stat.BucketQuantile(st.Bounds, st.Buckets, 0.5)),
		P99: finite(stat.BucketQuantile(st.Bounds, st.Buckets, 0.99)),
	}
}

func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}
