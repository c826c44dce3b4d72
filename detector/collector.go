package detector

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/driftcar/driftcar/detector/guard"
	"github.com/driftcar/driftcar/detector/stat"
)

// Collector exports the current Monitor's states. Register it once; Use
// swaps the Monitor it reads.
type Collector struct {
	cur                                  func() *Monitor
	state, statistic, threshold, pvalue  *prometheus.Desc
	samples, dataset, share, evaluations *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector reading the monitor current returns
// (nil exports nothing).
func NewCollector(current func() *Monitor) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("driftcar_"+name, help, labels, nil)
	}
	return &Collector{
		cur:         current,
		state:       d("drift_state", "Drift state of a feature: 0 insufficient_data, 1 ok, 2 warning, 3 drift.", "route", "feature"),
		statistic:   d("drift_statistic", "Drift test statistic of a feature's window.", "route", "feature", "test", "window"),
		threshold:   d("drift_threshold", "Calibrated threshold of the statistic at the window's n.", "route", "feature", "test", "window"),
		pvalue:      d("drift_pvalue", "p-value of the test where defined.", "route", "feature", "test", "window"),
		samples:     d("drift_window_samples", "Valid values in a feature's window.", "route", "feature", "window"),
		dataset:     d("drift_dataset_state", "Dataset-level drift state of a route (same values as driftcar_drift_state).", "route"),
		share:       d("drift_drifted_share", "Share of a route's features in state drift.", "route"),
		evaluations: d("drift_evaluations_total", "Drift evaluation ticks."),
	}
}

// Describe sends the fixed descriptors, the guard's included.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.state, c.statistic, c.threshold, c.pvalue,
		c.samples, c.dataset, c.share, c.evaluations,
	} {
		ch <- d
	}
	guard.Describe(ch)
}

// Collect exports the monitor's last evaluations.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	m := c.cur()
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	gauge := prometheus.GaugeValue
	ch <- prometheus.MustNewConstMetric(c.evaluations, prometheus.CounterValue, float64(m.ticks))
	for _, r := range m.routes {
		for _, f := range r.features {
			ch <- prometheus.MustNewConstMetric(c.state, gauge, float64(f.det.State()), r.route, f.name)
			if f.eval == nil {
				continue
			}
			for j, w := range f.eval.Windows {
				win := m.windowName(j)
				ch <- prometheus.MustNewConstMetric(c.samples, gauge, float64(w.N), r.route, f.name, win)
				for t := range stat.NumTests {
					s := w.Stats[t]
					if math.IsNaN(s.Value) {
						continue
					}
					name := t.String()
					ch <- prometheus.MustNewConstMetric(c.statistic, gauge, s.Value, r.route, f.name, name, win)
					if !math.IsNaN(s.Threshold) && !math.IsInf(s.Threshold, 0) {
						ch <- prometheus.MustNewConstMetric(c.threshold, gauge, s.Threshold, r.route, f.name, name, win)
					}
					if !math.IsNaN(s.PValue) {
						ch <- prometheus.MustNewConstMetric(c.pvalue, gauge, s.PValue, r.route, f.name, name, win)
					}
				}
			}
		}
		if r.last != nil {
			ch <- prometheus.MustNewConstMetric(c.dataset, gauge, float64(r.last.State), r.route)
			ch <- prometheus.MustNewConstMetric(c.share, gauge, r.last.Share, r.route)
		}
	}
	if g := m.guard.Load(); g != nil {
		g.Collect(ch)
	}
}
