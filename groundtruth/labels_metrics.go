package groundtruth

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

const unknownRoute = "unknown"

// labelMetrics are driftcar_labels_total's children, made up front, and
// the table's collector.
type labelMetrics struct {
	// byRoute is indexed by route, with "unknown" last.
	byRoute [][numResults]prometheus.Counter
}

func newLabelMetrics(reg prometheus.Registerer, routes []string, t *Table) (*labelMetrics, error) {
	labels := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "driftcar",
		Name:      "labels_total",
		Help:      "Ground-truth labels by route and result (joined, unmatched, expired, duplicate, invalid); route is unknown when no prediction matched.",
	}, []string{"route", "result"})
	m := &labelMetrics{byRoute: make([][numResults]prometheus.Counter, len(routes)+1)}
	for i := range m.byRoute {
		name := unknownRoute
		if i < len(routes) {
			name = routes[i]
		}
		for r := range numResults {
			m.byRoute[i][r] = labels.WithLabelValues(name, r.String())
		}
	}
	table := newTableCollector(t)
	if err := reg.Register(labels); err != nil {
		return nil, fmt.Errorf("cannot register driftcar_labels_total: %w", err)
	}
	if err := reg.Register(table); err != nil {
		reg.Unregister(labels)
		return nil, fmt.Errorf("cannot register the ground truth table's metrics: %w", err)
	}
	return m, nil
}

// count adds one label of result res to route (-1 or past the routes:
// unknown).
func (m *labelMetrics) count(route int, res Result) {
	if route < 0 || route >= len(m.byRoute)-1 {
		route = len(m.byRoute) - 1
	}
	m.byRoute[route][res].Inc()
}

// tableCollector reads the table at scrape time.
type tableCollector struct {
	t                         *Table
	entries, evicted, overCap *prometheus.Desc
}

func newTableCollector(t *Table) *tableCollector {
	return &tableCollector{
		t: t,
		entries: prometheus.NewDesc("driftcar_ground_truth_entries",
			"Predictions waiting for a label: join table entries younger than the TTL.", nil, nil),
		evicted: prometheus.NewDesc("driftcar_ground_truth_evicted_total",
			"Join table entries overwritten before their TTL because the table was full.", nil, nil),
		overCap: prometheus.NewDesc("driftcar_ground_truth_rows_over_cap_total",
			"Prediction rows not stored because their request had more than 256 rows.", nil, nil),
	}
}

func (c *tableCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.entries
	ch <- c.evicted
	ch <- c.overCap
}

func (c *tableCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(c.t.Len()))
	ch <- prometheus.MustNewConstMetric(c.evicted, prometheus.CounterValue, float64(c.t.Evicted()))
	ch <- prometheus.MustNewConstMetric(c.overCap, prometheus.CounterValue, float64(c.t.RowsOverCap()))
}
