package proxy

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "driftcar"

// latencyBuckets cover a sidecar's sub-millisecond overhead up to slow
// model calls, about 1.6x apart so that p99 ratios between arms can be
// estimated from them.
var latencyBuckets = [...]float64{
	0.0001, 0.00015, 0.00025, 0.0004, 0.0006, 0.001, 0.0015, 0.0025, 0.004, 0.006,
	0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.15, 0.25, 0.4, 0.6,
	1, 1.5, 2.5, 4, 6, 10, 30,
}

// Metrics are the proxy's collectors. Create them once with NewMetrics and
// pass them to every Server built on the same registry.
type Metrics struct {
	arms           *armSet // driftcar_requests_total, driftcar_request_duration_seconds
	upstreamDur    *prometheus.HistogramVec
	upstreamErrors *prometheus.CounterVec
	fallbacks      *prometheus.CounterVec
}

// NewMetrics registers the proxy's collectors with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		arms: newArmSet(),
		upstreamDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "upstream_duration_seconds",
			Help:      "Duration of upstream calls by route and arm.",
			Buckets:   latencyBuckets[:],
		}, []string{"route", "arm"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "upstream_errors_total",
			Help:      "Failed upstream calls by route, arm and reason.",
		}, []string{"route", "arm", "reason"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "fallbacks_total",
			Help:      "Requests retried on the fallback arm after their arm failed, by route and failed arm.",
		}, []string{"route", "arm"}),
	}
	reg.MustRegister(m.arms, m.upstreamDur, m.upstreamErrors, m.fallbacks)
	return m
}

// statusClasses are the code label values, indexed by status/100.
var statusClasses = [6]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

func statusClass(status int) int {
	if c := status / 100; c >= 1 && c <= 5 {
		return c
	}
	return 0
}

// armMetrics are the children of one (route, arm), resolved once per table
// so the request path does no label lookups.
type armMetrics struct {
	stats    *armStats
	upstream prometheus.Observer
	errors   [numFailures]prometheus.Counter
	fallback prometheus.Counter
}

func (m *Metrics) forArm(route, arm string) *armMetrics {
	am := &armMetrics{
		stats:    m.arms.get(route, arm),
		upstream: m.upstreamDur.WithLabelValues(route, arm),
		fallback: m.fallbacks.WithLabelValues(route, arm),
	}
	for f := range numFailures {
		am.errors[f] = m.upstreamErrors.WithLabelValues(route, arm, f.String())
	}
	return am
}

// forget deletes the series of a (route, arm) that a new table dropped, so
// label sets stay bounded by the config.
func (m *Metrics) forget(route, arm string) {
	labels := prometheus.Labels{"route": route, "arm": arm}
	m.arms.forget(route, arm)
	m.upstreamDur.DeletePartialMatch(labels)
	m.upstreamErrors.DeletePartialMatch(labels)
	m.fallbacks.DeletePartialMatch(labels)
}

// UpstreamDuration is driftcar_upstream_duration_seconds{route,arm}, for
// packages that call upstreams of their own (the shadow) to record next to
// live and canary.
func (m *Metrics) UpstreamDuration() *prometheus.HistogramVec { return m.upstreamDur }

// armSet holds the armStats of every (route, arm) and exports them as
// driftcar_requests_total, driftcar_request_duration_seconds and, on
// routes that time tokens, the driftcar_llm_* timings.
type armSet struct {
	mu         sync.Mutex
	arms       map[[2]string]*armStats
	requests   *prometheus.Desc
	duration   *prometheus.Desc
	firstToken *prometheus.Desc
	interToken *prometheus.Desc
}

var _ prometheus.Collector = (*armSet)(nil)

func newArmSet() *armSet {
	return &armSet{
		arms: map[[2]string]*armStats{},
		requests: prometheus.NewDesc(namespace+"_requests_total",
			"Client requests by route, arm and status class.", []string{"route", "arm", "code"}, nil),
		duration: prometheus.NewDesc(namespace+"_request_duration_seconds",
			"Time from reading a client request to handing its response to the server, by route and arm.",
			[]string{"route", "arm"}, nil),
		firstToken: prometheus.NewDesc(namespace+"_llm_time_to_first_token_seconds",
			"Time from reading a client request to the first chunk of its streamed answer, by route and arm.",
			[]string{"route", "arm"}, nil),
		interToken: prometheus.NewDesc(namespace+"_llm_inter_token_seconds",
			"Gaps between the chunks of streamed answers, by route and arm.",
			[]string{"route", "arm"}, nil),
	}
}

// get returns the stats of (route, arm), created on first use; a table
// that keeps an arm keeps counting on the same stats.
func (s *armSet) get(route, arm string) *armStats {
	k := [2]string{route, arm}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.arms[k]; a != nil {
		return a
	}
	a := &armStats{created: time.Now()}
	s.arms[k] = a
	return a
}

func (s *armSet) forget(route, arm string) {
	s.mu.Lock()
	delete(s.arms, [2]string{route, arm})
	s.mu.Unlock()
}

// Describe sends the fixed descriptors.
func (s *armSet) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.requests
	ch <- s.duration
	ch <- s.firstToken
	ch <- s.interToken
}

// Collect exports a snapshot of every arm's stats.
func (s *armSet) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, a := range s.arms {
		for class, name := range statusClasses {
			ch <- prometheus.MustNewConstMetricWithCreatedTimestamp(s.requests, prometheus.CounterValue,
				float64(a.requests[class].Load()), a.created, k[0], k[1], name)
		}
		st := a.snapshot()
		ch <- constHistogram(s.duration, Histogram{Buckets: st.Buckets, Count: st.count, Sum: st.sum}, a.created, k)
		if a.timed.Load() {
			ch <- constHistogram(s.firstToken, st.FirstToken, a.created, k)
			ch <- constHistogram(s.interToken, st.InterToken, a.created, k)
		}
	}
}

func constHistogram(d *prometheus.Desc, h Histogram, created time.Time, k [2]string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(latencyBuckets))
	for i, b := range latencyBuckets {
		buckets[b] = h.Buckets[i]
	}
	return prometheus.MustNewConstHistogramWithCreatedTimestamp(d, h.Count, h.Sum, buckets, created, k[0], k[1])
}
