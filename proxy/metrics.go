package proxy

import (
	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "driftcar"

// latencyBuckets cover a sidecar's sub-millisecond overhead up to slow
// model calls, about 1.6x apart so that p99 ratios between arms can be
// estimated from them.
var latencyBuckets = []float64{
	0.0001, 0.00015, 0.00025, 0.0004, 0.0006, 0.001, 0.0015, 0.0025, 0.004, 0.006,
	0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.15, 0.25, 0.4, 0.6,
	1, 1.5, 2.5, 4, 6, 10, 30,
}

// Metrics are the proxy's collectors. Create them once with NewMetrics and
// pass them to every Server built on the same registry.
type Metrics struct {
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	upstreamDur    *prometheus.HistogramVec
	upstreamErrors *prometheus.CounterVec
	fallbacks      *prometheus.CounterVec
}

// NewMetrics registers the proxy's collectors with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "requests_total",
			Help:      "Client requests by route, arm and status class.",
		}, []string{"route", "arm", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "request_duration_seconds",
			Help:      "Time from reading a client request to handing its response to the server, by route and arm.",
			Buckets:   latencyBuckets,
		}, []string{"route", "arm"}),
		upstreamDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "upstream_duration_seconds",
			Help:      "Duration of upstream calls by route and arm.",
			Buckets:   latencyBuckets,
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
	reg.MustRegister(m.requests, m.duration, m.upstreamDur, m.upstreamErrors, m.fallbacks)
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
	requests [len(statusClasses)]prometheus.Counter
	duration prometheus.Observer
	upstream prometheus.Observer
	errors   [numFailures]prometheus.Counter
	fallback prometheus.Counter
}

func (m *Metrics) forArm(route, arm string) *armMetrics {
	am := &armMetrics{
		duration: m.duration.WithLabelValues(route, arm),
		upstream: m.upstreamDur.WithLabelValues(route, arm),
		fallback: m.fallbacks.WithLabelValues(route, arm),
	}
	for i, class := range statusClasses {
		am.requests[i] = m.requests.WithLabelValues(route, arm, class)
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
	m.requests.DeletePartialMatch(labels)
	m.duration.DeletePartialMatch(labels)
	m.upstreamDur.DeletePartialMatch(labels)
	m.upstreamErrors.DeletePartialMatch(labels)
	m.fallbacks.DeletePartialMatch(labels)
}

// UpstreamDuration is driftcar_upstream_duration_seconds{route,arm}, for
// packages that call upstreams of their own (the shadow) to record next to
// live and canary.
func (m *Metrics) UpstreamDuration() *prometheus.HistogramVec { return m.upstreamDur }
