package sampling

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/driftcar/driftcar/sampler"
)

// PredictionFeature is the feature label value of the model output.
const PredictionFeature = "__prediction__"

// Collector exports the current Set. Register it once; Use swaps the Set
// it reads.
type Collector struct {
	set atomic.Pointer[Set]

	rows, dropped, queue, invalid         *prometheus.Desc
	value, category, distinct, outOfRange *prometheus.Desc
	excluded, refHist, refInfo, learning  *prometheus.Desc
	bin, refBin                           *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector with no Set.
func NewCollector() *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("driftcar_"+name, help, labels, nil)
	}
	return &Collector{
		rows:       d("sampler_rows_total", "Feature rows decoded from sampled requests.", "route"),
		dropped:    d("sampler_dropped_total", "Sampled requests not decoded, by reason.", "route", "reason"),
		queue:      d("sampler_queue_length", "Sampled requests waiting to be decoded.", "route"),
		invalid:    d("sampler_invalid_total", "Invalid sampled input, by reason.", "route", "reason"),
		value:      d("feature_value", "Numeric feature values; the le buckets are the reference quantile edges.", "route", "feature"),
		category:   d("feature_category_total", "Categorical feature values by reference category.", "route", "feature", "category"),
		distinct:   d("feature_distinct_estimate", "Estimated distinct values of a categorical feature over the sketch ring.", "route", "feature"),
		outOfRange: d("feature_out_of_range_total", "Numeric values outside the reference range.", "route", "feature", "side"),
		excluded:   d("feature_excluded_total", "Feature values that were missing or invalid.", "route", "feature", "reason"),
		refHist:    d("feature_reference_value", "The reference distribution of numeric features, with the same le buckets as driftcar_feature_value.", "feature"),
		refInfo:    d("reference_info", "Always 1; describes the reference profile in use.", "hash", "source"),
		bin:        d("feature_bin_total", "Numeric feature values per reference bin (not cumulative); bin is the bin's upper edge.", "route", "feature", "bin"),
		refBin:     d("feature_reference_bin_ratio", "Reference share of each numeric bin; bin is the bin's upper edge.", "feature", "bin"),
		learning:   d("reference_learning_rows", "Rows learned so far while the reference is being learned.", "target"),
	}
}

// Use makes the collector export s (nil exports nothing).
func (c *Collector) Use(s *Set) { c.set.Store(s) }

// Describe sends nothing: the collector is unchecked, because its label
// values come from the reference.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect exports the current Set.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.set.Load()
	if s == nil {
		return
	}
	counter, gauge := prometheus.CounterValue, prometheus.GaugeValue
	if rows, want, ok := s.Learning(); ok {
		ch <- prometheus.MustNewConstMetric(c.learning, gauge, float64(rows), strconv.Itoa(want))
	}
	if p := s.Profile(); p != nil {
		ch <- prometheus.MustNewConstMetric(c.refInfo, gauge, 1, p.Hash, p.Source)
		for i := range p.Features {
			c.collectReference(ch, &p.Features[i], p.Features[i].Name)
		}
		if p.Prediction != nil {
			c.collectReference(ch, p.Prediction, PredictionFeature)
		}
	}
	for _, route := range s.Routes() {
		t := s.Tap(route)
		ch <- prometheus.MustNewConstMetric(c.rows, counter, float64(t.rows.Load()), route)
		ch <- prometheus.MustNewConstMetric(c.queue, gauge, float64(t.QueueLength()), route)
		for i := range numDrops {
			ch <- prometheus.MustNewConstMetric(c.dropped, counter, float64(t.dropped[i].Load()), route, dropNames[i])
		}
		invalid := t.invalid.Load()
		for r := range sampler.NumReasons {
			ch <- prometheus.MustNewConstMetric(c.invalid, counter, float64(invalid[r]), route, r.String())
		}
		st := t.State()
		if st == nil {
			continue
		}
		snap := st.Snapshot()
		for i := range snap.Features {
			c.collectFeature(ch, route, &snap.Features[i], snap.Features[i].Name)
		}
		if snap.Prediction != nil {
			c.collectFeature(ch, route, snap.Prediction, PredictionFeature)
		}
	}
}

func (c *Collector) collectFeature(ch chan<- prometheus.Metric, route string, f *sampler.FeatureSnapshot, name string) {
	counter := prometheus.CounterValue
	ch <- prometheus.MustNewConstMetric(c.excluded, counter, float64(f.Missing), route, name, "missing")
	ch <- prometheus.MustNewConstMetric(c.excluded, counter, float64(f.Invalid), route, name, "invalid")
	if f.Type == sampler.Categorical {
		for j, cat := range f.Categories {
			ch <- prometheus.MustNewConstMetric(c.category, counter, float64(f.CategoryCounts[j]), route, name, cat)
		}
		ch <- prometheus.MustNewConstMetric(c.distinct, prometheus.GaugeValue, float64(f.Distinct), route, name)
		return
	}
	buckets := make(map[float64]uint64, len(f.Edges))
	for j, e := range f.Edges {
		buckets[e] = f.Buckets[j]
	}
	ch <- prometheus.MustNewConstHistogram(c.value, f.Count, f.Sum, buckets, route, name)
	var prev uint64
	for j, e := range f.Edges {
		ch <- prometheus.MustNewConstMetric(c.bin, counter, float64(f.Buckets[j]-prev), route, name, formatEdge(e))
		prev = f.Buckets[j]
	}
	ch <- prometheus.MustNewConstMetric(c.bin, counter, float64(f.Count-prev), route, name, "+Inf")
	ch <- prometheus.MustNewConstMetric(c.outOfRange, counter, float64(f.BelowMin), route, name, "below")
	ch <- prometheus.MustNewConstMetric(c.outOfRange, counter, float64(f.AboveMax), route, name, "above")
}

// collectReference exports a numeric reference as a histogram over the
// reference edges, so bucket/count is the reference CDF at each le.
func (c *Collector) collectReference(ch chan<- prometheus.Metric, f *sampler.FeatureProfile, name string) {
	if len(f.Edges) == 0 || len(f.Counts) < len(f.Edges) {
		return
	}
	buckets := make(map[float64]uint64, len(f.Edges))
	var cum uint64
	for j, e := range f.Edges {
		cum += f.Counts[j]
		buckets[e] = cum
	}
	ch <- prometheus.MustNewConstHistogram(c.refHist, f.Count, f.Mean*float64(f.Count), buckets, name)
	for j, e := range f.Edges {
		ch <- prometheus.MustNewConstMetric(c.refBin, prometheus.GaugeValue, f.Proportions[j], name, formatEdge(e))
	}
	if last := len(f.Edges); last < len(f.Proportions) {
		ch <- prometheus.MustNewConstMetric(c.refBin, prometheus.GaugeValue, f.Proportions[last], name, "+Inf")
	}
}

// formatEdge writes an edge as Prometheus writes le values.
func formatEdge(e float64) string { return strconv.FormatFloat(e, 'g', -1, 64) }

// Current returns the Set being exported, or nil.
func (c *Collector) Current() *Set { return c.set.Load() }
