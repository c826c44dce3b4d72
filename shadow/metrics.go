package shadow

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Result is the fate of one request as far as shadowing goes; its string
// is the result label of driftcar_shadow_requests_total.
type Result uint8

// Results.
const (
	ResultOK Result = iota
	ResultError
	ResultTimeout
	ResultDroppedQueueFull
	ResultSkippedBodyTooLarge
	ResultSkippedMethod
	ResultSkippedNotSampled
	numResults
)

var resultNames = [numResults]string{
	ResultOK:                  "ok",
	ResultError:               "error",
	ResultTimeout:             "timeout",
	ResultDroppedQueueFull:    "dropped_queue_full",
	ResultSkippedBodyTooLarge: "skipped_body_too_large",
	ResultSkippedMethod:       "skipped_method",
	ResultSkippedNotSampled:   "skipped_not_sampled",
}

func (r Result) String() string { return resultNames[r] }

// Outcome is the verdict on one compared prediction element.
type Outcome uint8

// Outcomes.
const (
	Match Outcome = iota
	Mismatch
	Undecodable
	numOutcomes
)

var outcomeNames = [numOutcomes]string{Match: "match", Mismatch: "mismatch", Undecodable: "undecodable"}

func (o Outcome) String() string { return outcomeNames[o] }

// Metrics are the shadow collectors, shared by all mirrors on a registry.
type Metrics struct {
	requests       *prometheus.CounterVec
	comparisons    *prometheus.CounterVec
	absDiff        *prometheus.HistogramVec
	statusMismatch *prometheus.CounterVec
	failedAlike    *prometheus.CounterVec
	expired        *prometheus.CounterVec
	upstream       *prometheus.HistogramVec
	queues         *queueLengths
	inflight       *prometheus.GaugeVec
}

// NewMetrics registers the shadow collectors with reg. upstreamDuration
// is the proxy's driftcar_upstream_duration_seconds{route,arm}, so shadow
// latency lands next to live and canary with arm="shadow".
func NewMetrics(reg prometheus.Registerer, upstreamDuration *prometheus.HistogramVec) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "driftcar", Subsystem: "shadow", Name: "requests_total",
			Help: "Requests by what shadowing did with them.",
		}, []string{"route", "result"}),
		comparisons: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "driftcar", Subsystem: "shadow", Name: "comparisons_total",
			Help: "Compared prediction elements by outcome.",
		}, []string{"route", "outcome"}),
		absDiff: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "driftcar", Subsystem: "shadow", Name: "prediction_abs_diff",
			Help:    "Absolute difference between live and shadow numeric predictions.",
			Buckets: prometheus.ExponentialBuckets(1e-9, 10, 10),
		}, []string{"route"}),
		statusMismatch: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "driftcar", Subsystem: "shadow", Name: "status_mismatch_total",
			Help: "Pairs whose live and shadow status codes differ.",
		}, []string{"route"}),
		failedAlike: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "driftcar", Subsystem: "shadow", Name: "pairs_failed_alike_total",
			Help: "Pairs where live and shadow failed with the same status: nothing to compare.",
		}, []string{"route"}),
		expired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "driftcar", Subsystem: "shadow", Name: "pairs_expired_total",
			Help: "Shadow responses whose live partner did not arrive within the pair timeout.",
		}, []string{"route"}),
		upstream: upstreamDuration,
		queues: &queueLengths{
			desc:   prometheus.NewDesc("driftcar_shadow_queue_length", "Request copies waiting for a shadow worker.", []string{"route"}, nil),
			mirror: map[*Mirror]string{},
		},
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "driftcar", Subsystem: "shadow", Name: "inflight",
			Help: "Shadow requests being sent or awaiting their live partner.",
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.comparisons, m.absDiff, m.statusMismatch, m.failedAlike, m.expired, m.queues, m.inflight)
	return m
}

// routeMetrics are one route's children, resolved once.
type routeMetrics struct {
	results     [numResults]prometheus.Counter
	outcomes    [numOutcomes]prometheus.Counter
	absDiff     prometheus.Observer
	status      prometheus.Counter
	failedAlike prometheus.Counter
	expired     prometheus.Counter
	upstream    prometheus.Observer
	inflight    prometheus.Gauge
}

func (m *Metrics) forRoute(route string) *routeMetrics {
	rm := &routeMetrics{
		absDiff:     m.absDiff.WithLabelValues(route),
		status:      m.statusMismatch.WithLabelValues(route),
		failedAlike: m.failedAlike.WithLabelValues(route),
		expired:     m.expired.WithLabelValues(route),
		upstream:    m.upstream.WithLabelValues(route, "shadow"),
		inflight:    m.inflight.WithLabelValues(route),
	}
	for r := range numResults {
		rm.results[r] = m.requests.WithLabelValues(route, r.String())
	}
	for o := range numOutcomes {
		rm.outcomes[o] = m.comparisons.WithLabelValues(route, o.String())
	}
	return rm
}

// Forget deletes a route's series after its mirror is gone.
func (m *Metrics) Forget(route string) {
	labels := prometheus.Labels{"route": route}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		m.requests, m.comparisons, m.absDiff, m.statusMismatch, m.failedAlike, m.expired, m.inflight,
	} {
		v.DeletePartialMatch(labels)
	}
	m.upstream.DeleteLabelValues(route, "shadow")
}

// Stats are a route's cumulative shadow counts, for the admin API.
type Stats struct {
	Results  map[string]uint64
	Outcomes map[string]uint64
	// Bounds and Buckets are the shadow call durations (cumulative).
	Bounds  []float64
	Buckets []uint64
}

// Stats reads the counts of a route that has (or had) a mirror.
func (m *Metrics) Stats(route string) Stats {
	st := Stats{Results: map[string]uint64{}, Outcomes: map[string]uint64{}}
	var d dto.Metric
	read := func(c prometheus.Metric) float64 {
		d.Reset()
		if c.Write(&d) != nil {
			return 0
		}
		return d.GetCounter().GetValue()
	}
	for r := range numResults {
		st.Results[r.String()] = uint64(read(m.requests.WithLabelValues(route, r.String())))
	}
	for o := range numOutcomes {
		st.Outcomes[o.String()] = uint64(read(m.comparisons.WithLabelValues(route, o.String())))
	}
	d.Reset()
	if h, ok := m.upstream.WithLabelValues(route, "shadow").(prometheus.Metric); ok && h.Write(&d) == nil {
		for _, b := range d.GetHistogram().GetBucket() {
			st.Bounds = append(st.Bounds, b.GetUpperBound())
			st.Buckets = append(st.Buckets, b.GetCumulativeCount())
		}
	}
	return st
}

// queueLengths exports driftcar_shadow_queue_length from the queues
// themselves at scrape time: the request path does no gauge work, and a
// retired mirror counts until it has drained.
type queueLengths struct {
	desc   *prometheus.Desc
	mu     sync.Mutex
	mirror map[*Mirror]string // → route
}

func (q *queueLengths) add(m *Mirror, route string) {
	q.mu.Lock()
	q.mirror[m] = route
	q.mu.Unlock()
}

func (q *queueLengths) remove(m *Mirror) {
	q.mu.Lock()
	delete(q.mirror, m)
	q.mu.Unlock()
}

// Describe sends the queue length descriptor.
func (q *queueLengths) Describe(ch chan<- *prometheus.Desc) { ch <- q.desc }

// Collect sums the queue lengths of each route's mirrors.
func (q *queueLengths) Collect(ch chan<- prometheus.Metric) {
	q.mu.Lock()
	byRoute := map[string]int{}
	for m, route := range q.mirror {
		byRoute[route] += len(m.queue)
		if m.grpc != nil {
			byRoute[route] += len(m.grpc.queue)
		}
	}
	q.mu.Unlock()
	for route, n := range byRoute {
		ch <- prometheus.MustNewConstMetric(q.desc, prometheus.GaugeValue, float64(n), route)
	}
}
