package sidecar

import (
	"math"
	"time"

	"github.com/driftcar/driftcar/detector"

	"github.com/driftcar/driftcar/detector/stat"
	"github.com/driftcar/driftcar/llm"
	"github.com/driftcar/driftcar/proxy"
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
	perf := s.performanceStates()
	if m == nil {
		if perf != nil {
			return map[string]any{"configured": false, "performance": perf}
		}
		return map[string]any{"configured": false}
	}
	return struct {
		detector.View
		Performance []PerformanceState `json:"performance,omitempty"`
	}{m.View(), perf}
}

// PerformanceState is an arm's performance against its reference, on
// /api/drift next to the features' drift (details in /api/ground-truth).
type PerformanceState struct {
	Route string     `json:"route"`
	Arm   string     `json:"arm"`
	Role  string     `json:"role"`
	State string     `json:"state"`
	Since *time.Time `json:"since,omitempty"`
}

func (s *Sidecar) performanceStates() []PerformanceState {
	t := s.truthNow.Load()
	if t == nil {
		return nil
	}
	out := []PerformanceState{}
	for _, r := range t.monitor.View().Routes {
		for _, a := range r.Arms {
			out = append(out, PerformanceState{Route: r.Route, Arm: a.Arm, Role: a.Role, State: a.State, Since: a.Since})
		}
	}
	return out
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
	// LLM is set on routes that speak openai.
	LLM *ArmLLMView `json:"llm,omitempty"`
}

// ArmLLMView is one arm's streamed-answer timing and token counts on an
// openai route, cumulative since start.
type ArmLLMView struct {
	// Streams counts the streamed answers timed.
	Streams       uint64  `json:"streams"`
	TTFTP50       float64 `json:"ttft_p50_seconds"`
	TTFTP99       float64 `json:"ttft_p99_seconds"`
	InterTokenP99 float64 `json:"inter_token_p99_seconds"`
	// Answers counts the answers whose tokens were counted.
	Answers uint64    `json:"answers"`
	Tokens  LLMTokens `json:"tokens"`
	// Finish counts answers by finish reason; only reasons seen appear.
	Finish map[string]uint64 `json:"finish"`
}

// LLMTokens are token counts by where they come from: the servers' usage
// objects, or counted chunks of streams without usage.
type LLMTokens struct {
	Prompt           uint64 `json:"prompt"`
	CompletionUsage  uint64 `json:"completion_usage"`
	CompletionChunks uint64 `json:"completion_chunks"`
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
	var counters map[string]*llm.Counter
	if p := s.countersNow.Load(); p != nil {
		counters = *p
	}
	out := []RouteStats{}
	for _, r := range cfg.Routes {
		rs := RouteStats{Route: r.Name, Arms: []ArmStatsView{}}
		var tokens []llm.ArmTokens
		c := counters[r.Name]
		if c != nil {
			tokens = c.Stats()
		}
		for i, a := range s.proxy.Stats(r.Name) {
			v := ArmStatsView{Arm: a.Arm, Requests: a.Requests, Errors: a.Errors,
				P50: finite(stat.BucketQuantile(a.Bounds, a.Buckets, 0.5)), P99: finite(stat.BucketQuantile(a.Bounds, a.Buckets, 0.99))}
			if i < len(r.Split) && r.Split[i].Weight != nil {
				v.Weight = *r.Split[i].Weight
			}
			if c != nil {
				v.LLM = armLLM(a, tokens)
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

func armLLM(a proxy.ArmStats, tokens []llm.ArmTokens) *ArmLLMView {
	// The +Inf count closes the buckets, so a quantile past the last bound
	// reads as that bound.
	q := func(h proxy.Histogram, q float64) float64 {
		if len(h.Buckets) == 0 {
			return 0
		}
		return finite(stat.BucketQuantile(a.Bounds, append(h.Buckets[:len(h.Buckets):len(h.Buckets)], h.Count), q))
	}
	v := &ArmLLMView{
		Streams: a.FirstToken.Count,
		TTFTP50: q(a.FirstToken, 0.5), TTFTP99: q(a.FirstToken, 0.99),
		InterTokenP99: q(a.InterToken, 0.99),
		Finish:        map[string]uint64{},
	}
	for _, t := range tokens {
		if t.Arm == a.Arm {
			v.Answers, v.Finish = t.Answers, t.Finish
			v.Tokens = LLMTokens{Prompt: t.Prompt, CompletionUsage: t.CompletionUsage, CompletionChunks: t.CompletionChunks}
		}
	}
	return v
}

func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}
