package predlog

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "driftcar"

// Drop reasons, the reason label of driftcar_log_dropped_total.
const (
	ReasonQueueFull        = "queue_full"
	ReasonBytesFull        = "bytes_full"
	ReasonRetriesExhausted = "retries_exhausted"
	ReasonClosed           = "closed"
)

type dropReason uint8

const (
	dropQueueFull dropReason = iota
	dropBytesFull
	dropRetriesExhausted
	dropClosed
	numDropReasons
)

var dropReasons = [numDropReasons]string{ReasonQueueFull, ReasonBytesFull, ReasonRetriesExhausted, ReasonClosed}

// Metrics are the prediction log's collectors. Create them once with
// NewMetrics and pass them to every Log built on the same registry; a
// Log shows its queues from New until Close.
type Metrics struct {
	records *prometheus.CounterVec
	dropped *prometheus.CounterVec
	queues  *queueCollector
}

// NewMetrics registers the log's collectors with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "log_records_total",
			Help:      "Prediction log records by sink and result of the write attempt (written, failed; a retried record counts once per failed attempt).",
		}, []string{"sink", "result"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "log_dropped_total",
			Help:      "Prediction log records given up by sink and reason.",
		}, []string{"sink", "reason"}),
		queues: &queueCollector{
			runners: map[*runner]struct{}{},
			depth: prometheus.NewDesc(namespace+"_log_queue_records",
				"Records queued or being written, by sink.", []string{"sink"}, nil),
			bytes: prometheus.NewDesc(namespace+"_log_queue_bytes",
				"Estimated bytes of the records queued or being written, by sink.", []string{"sink"}, nil),
			ready: prometheus.NewDesc(namespace+"_log_sink_ready",
				"1 when the sink reports ready, else 0.", []string{"sink"}, nil),
		},
	}
	reg.MustRegister(m.records, m.dropped, m.queues)
	return m
}

// queueCollector reads the live runners' queues at scrape time.
type queueCollector struct {
	mu                  sync.Mutex
	runners             map[*runner]struct{}
	capture             *Capture // its queue shows as sink "_capture"
	depth, bytes, ready *prometheus.Desc
}

func (c *queueCollector) add(r *runner) {
	c.mu.Lock()
	c.runners[r] = struct{}{}
	c.mu.Unlock()
}

func (c *queueCollector) remove(r *runner) {
	c.mu.Lock()
	delete(c.runners, r)
	c.mu.Unlock()
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.bytes
	ch <- c.ready
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for r := range c.runners {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(r.depth.Load()), r.name)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(r.bytes.Load()), r.name)
		up := 0.0
		if r.sink.Ready() == nil {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.ready, prometheus.GaugeValue, up, r.name)
	}
	if c.capture != nil {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(c.capture.held()), CaptureSink)
	}
}

// setCapture shows the queue of the Capture now serving as sink
// "_capture"; clearCapture removes it if it is still c.
func (c *queueCollector) setCapture(cp *Capture) {
	c.mu.Lock()
	c.capture = cp
	c.mu.Unlock()
}

func (c *queueCollector) clearCapture(cp *Capture) {
	c.mu.Lock()
	if c.capture == cp {
		c.capture = nil
	}
	c.mu.Unlock()
}
