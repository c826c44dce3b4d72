package grpcproxy

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
)

// latencyBuckets are the HTTP proxy's, so REST and gRPC latencies compare
// bucket by bucket.
var latencyBuckets = [...]float64{
	0.0001, 0.00015, 0.00025, 0.0004, 0.0006, 0.001, 0.0015, 0.0025, 0.004, 0.006,
	0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.15, 0.25, 0.4, 0.6,
	1, 1.5, 2.5, 4, 6, 10, 30,
}

// numCodes is the number of gRPC status codes, OK through Unauthenticated.
const numCodes = 17

// metrics are the server's collectors.
type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	fallbacks *prometheus.CounterVec
	refused   prometheus.Counter // streams over a connection's limit
	tooLarge  prometheus.Counter // header lists over maxHeaderList
	arms      armSet
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "driftcar",
			Subsystem: "grpc",
			Name:      "requests_total",
			Help:      "gRPC calls by route, arm and status code (from the trailer).",
		}, []string{"route", "arm", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "driftcar",
			Subsystem: "grpc",
			Name:      "request_duration_seconds",
			Help:      "Duration of gRPC calls through driftcar, from the call's start to its status, by route and arm.",
			Buckets:   latencyBuckets[:],
		}, []string{"route", "arm"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "driftcar",
			Subsystem: "grpc",
			Name:      "fallbacks_total",
			Help:      "gRPC calls sent to the fallback arm because their arm could not be reached, by route and failed arm.",
		}, []string{"route", "arm"}),
	}
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "driftcar",
		Subsystem: "grpc",
		Name:      "refused_streams_total",
		Help:      "gRPC calls refused before routing, by reason: stream_limit (over the connection's MAX_CONCURRENT_STREAMS) or header_limit (header list over 1MiB).",
	}, []string{"reason"})
	var err error
	if refused, err = register(reg, refused); err != nil {
		return nil, err
	}
	m.refused = refused.WithLabelValues("stream_limit")
	m.tooLarge = refused.WithLabelValues("header_limit")
	m.requests, err = register(reg, m.requests)
	if err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.fallbacks, err = register(reg, m.fallbacks); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered in
// its place, so that a second Server on the same registry shares series.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// armMetrics are the children of one (route, arm), resolved once per table
// so the call path does no label lookups.
type armMetrics struct {
	codes    [numCodes]prometheus.Counter
	duration prometheus.Observer
	fallback prometheus.Counter
	stats    *armStats
}

func (m *metrics) forArm(route, arm string) *armMetrics {
	am := &armMetrics{
		duration: m.duration.WithLabelValues(route, arm),
		fallback: m.fallbacks.WithLabelValues(route, arm),
		stats:    m.arms.get(route, arm),
	}
	for c := range am.codes {
		am.codes[c] = m.requests.WithLabelValues(route, arm, codes.Code(c).String())
	}
	return am
}

// observe counts one finished call.
func (am *armMetrics) observe(code codes.Code, d time.Duration) {
	if int(code) >= numCodes {
		code = codes.Unknown
	}
	am.codes[code].Inc()
	am.duration.Observe(d.Seconds())
	am.stats.observe(code, d)
}

// forget deletes the series of a (route, arm) that a new table dropped.
func (m *metrics) forget(route, arm string) {
	labels := prometheus.Labels{"route": route, "arm": arm}
	m.requests.DeletePartialMatch(labels)
	m.duration.DeletePartialMatch(labels)
	m.fallbacks.DeletePartialMatch(labels)
	m.arms.forget(route, arm)
}
