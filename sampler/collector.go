package sampler

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// PredictionFeature is the feature label value of the model output.
const PredictionFeature = "__prediction__"

// Collector exports the current Set. Register it once; Use swaps the Set
// it reads.
type Collector struct {
	mu      sync.Mutex
	set     *Set
	retired map[string]*retiredCounts // by route of set

	rows, dropped, queue, invalid         *prometheus.Desc
	value, category, distinct, outOfRange *prometheus.Desc
	excluded, refHist, refInfo, learning  *prometheus.Desc
	bin, refBin                           *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// retiredCounts are the counts of a route's Taps that config changes
// replaced: the last one read live (a request on its way may still add to
// it), the older ones folded into base.
type retiredCounts struct {
	base totals
	last *counts
}

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

// Use makes the collector export s (nil exports nothing). The counters of
// a route that s shares with the Set before it carry on from that Set's.
func (c *Collector) Use(s *Set) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, prevRetired := c.set, c.retired
	if old == s {
		return
	}
	c.set, c.retired = s, nil
	if s == nil {
		return
	}
	retired := make(map[string]*retiredCounts, len(s.Routes()))
	for _, route := range s.Routes() {
		r := &retiredCounts{}
		if prev := prevRetired[route]; prev != nil {
			r.base = prev.base
			if prev.last != nil {
				prev.last.addTo(&r.base, true)
			}
		}
		if old != nil {
			if t := old.Tap(route); t != nil {
				r.last = t.counts
			}
		}
		retired[route] = r
	}
	c.retired = retired
}

// totals are the counts of route: its Tap's and its retired Taps'.
func (c *Collector) totals(t *Tap, route string) totals {
	var tot totals
	t.counts.addTo(&tot, false)
	if r := c.retired[route]; r != nil {
		tot.add(&r.base)
		if r.last != nil {
			r.last.addTo(&tot, true)
		}
	}
	return tot
}

// Describe sends the fixed descriptors; label values may come from the
// reference, the names do not.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.rows, c.dropped, c.queue, c.invalid,
		c.value, c.category, c.distinct, c.outOfRange,
		c.excluded, c.refHist, c.refInfo, c.learning,
		c.bin, c.refBin,
	} {
		ch <- d
	}
}

// Collect exports the current Set.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.set
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
		tot := c.totals(t, route)
		ch <- prometheus.MustNewConstMetric(c.rows, counter, float64(tot.rows), route)
		ch <- prometheus.MustNewConstMetric(c.queue, gauge, float64(t.QueueLength()), route)
		for i := range numDrops {
			ch <- prometheus.MustNewConstMetric(c.dropped, counter, float64(tot.dropped[i]), route, dropNames[i])
		}
		for r := range payload.NumReasons {
			ch <- prometheus.MustNewConstMetric(c.invalid, counter, float64(tot.invalid[r]), route, r.String())
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

func (c *Collector) collectFeature(ch chan<- prometheus.Metric, route string, f *sketch.FeatureSnapshot, name string) {
	counter := prometheus.CounterValue
	ch <- prometheus.MustNewConstMetric(c.excluded, counter, float64(f.Missing), route, name, "missing")
	ch <- prometheus.MustNewConstMetric(c.excluded, counter, float64(f.Invalid), route, name, "invalid")
	if f.Type == payload.Categorical {
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
func (c *Collector) collectReference(ch chan<- prometheus.Metric, f *sketch.FeatureProfile, name string) {
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
func (c *Collector) Current() *Set {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.set
}
