package groundtruth

import (
	"math"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/driftcar/driftcar/groundtruth/perf"
)

// The monitor's descriptors. The counters are the arms' totals since the
// monitor started, so a fleet sums them in PromQL; the gauges are the
// windows' values.
var (
	descOutcomes = prometheus.NewDesc("driftcar_prediction_outcomes_total",
		"Labelled predictions by actual and predicted class.", []string{"route", "arm", "actual", "predicted"}, nil)
	descScore = prometheus.NewDesc("driftcar_prediction_score",
		"Positive-class scores of labelled binary predictions, by actual class.", []string{"route", "arm", "actual"}, nil)
	descScoreBin = prometheus.NewDesc("driftcar_prediction_score_bin_total",
		"Labelled binary predictions per score bin (not cumulative; le is the bin's upper edge), for fleet ROC AUC.", []string{"route", "arm", "actual", "le"}, nil)
	descLogLoss = prometheus.NewDesc("driftcar_prediction_log_loss_total",
		"Sum of the log loss of labelled binary predictions with a score.", []string{"route", "arm"}, nil)
	descScored = prometheus.NewDesc("driftcar_prediction_scored_total",
		"Labelled binary predictions with a score, the log loss's count.", []string{"route", "arm"}, nil)
	descAbsError = prometheus.NewDesc("driftcar_prediction_abs_error",
		"Absolute errors of labelled numeric predictions.", []string{"route", "arm"}, nil)
	descSquared = prometheus.NewDesc("driftcar_prediction_squared_error_total",
		"Sum of the squared errors of labelled numeric predictions.", []string{"route", "arm"}, nil)
	descSigned = prometheus.NewDesc("driftcar_prediction_signed_error_total",
		"Sum of the errors of labelled numeric predictions by direction (over: prediction above the label), so mean error = (over − under) / count.", []string{"route", "arm", "direction"}, nil)
	descPerformance = prometheus.NewDesc("driftcar_performance",
		"Performance of an arm over a window.", []string{"route", "arm", "window", "metric"}, nil)
	descWindowLabels = prometheus.NewDesc("driftcar_performance_labels",
		"Labelled outcomes in an arm's window.", []string{"route", "arm", "window"}, nil)
	descPerfState = prometheus.NewDesc("driftcar_performance_state",
		"Performance state of an arm against the reference: 0 insufficient_data, 1 ok, 2 warning, 3 drift.", []string{"route", "arm"}, nil)
	descSLA = prometheus.NewDesc("driftcar_performance_sla_breached",
		"1 while an arm's window breaches the SLA on a metric.", []string{"route", "arm", "metric"}, nil)
	descVerdict = prometheus.NewDesc("driftcar_challenger_verdict",
		"1 for a challenger's current verdict against the live arm, 0 for the others.", []string{"route", "arm", "verdict"}, nil)
	descDifference = prometheus.NewDesc("driftcar_challenger_difference",
		"A challenger's primary metric minus the live arm's, in the better direction.", []string{"route", "arm"}, nil)
	descPValue = prometheus.NewDesc("driftcar_challenger_pvalue",
		"p-value of no difference between a challenger and the live arm.", []string{"route", "arm"}, nil)
	descEvaluations = prometheus.NewDesc("driftcar_performance_evaluations_total",
		"Performance evaluation ticks.", nil, nil)
)

var verdicts = []perf.Verdict{perf.InsufficientData, perf.NotBetter, perf.BetterByMargin, perf.Worse}

// Describe sends the monitor's descriptors.
func (m *Monitor) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOutcomes, descScore, descScoreBin, descLogLoss, descScored, descAbsError, descSquared, descSigned,
		descPerformance, descWindowLabels, descPerfState, descSLA, descVerdict, descDifference, descPValue, descEvaluations} {
		ch <- d
	}
}

// Collect exports the monitor's state as of its last tick, and its totals.
func (m *Monitor) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(descEvaluations, prometheus.CounterValue, float64(m.evaluated))
	for _, r := range m.routes {
		for _, a := range r.arms {
			m.collectTotals(ch, r.name, a)
			m.collectWindows(ch, r.name, a)
			state := 0.0
			if a.test != nil {
				state = float64(a.test.State())
			}
			ch <- prometheus.MustNewConstMetric(descPerfState, prometheus.GaugeValue, state, r.name, a.name)
			for metric, breached := range a.sla {
				ch <- prometheus.MustNewConstMetric(descSLA, prometheus.GaugeValue, boolValue(breached), r.name, a.name, metric)
			}
			if !a.hasVerdict {
				continue
			}
			for _, v := range verdicts {
				ch <- prometheus.MustNewConstMetric(descVerdict, prometheus.GaugeValue, boolValue(a.verdict.Verdict == v), r.name, a.name, v.String())
			}
			if !math.IsNaN(a.verdict.Difference) {
				ch <- prometheus.MustNewConstMetric(descDifference, prometheus.GaugeValue, a.verdict.Difference, r.name, a.name)
			}
			if !math.IsNaN(a.verdict.PValue) {
				ch <- prometheus.MustNewConstMetric(descPValue, prometheus.GaugeValue, a.verdict.PValue, r.name, a.name)
			}
		}
	}
}

func (m *Monitor) collectTotals(ch chan<- prometheus.Metric, route string, a *armMon) {
	c := a.total
	switch m.spec.Kind {
	case perf.Numeric:
		sumAbs, sumSq, _ := c.ErrorSums()
		over, under := a.over, a.under
		buckets := make(map[float64]uint64, len(absErrorBuckets))
		var cum uint64
		for i, b := range absErrorBuckets {
			cum += a.absHist[i]
			buckets[b] = cum
		}
		cum += a.absHist[len(absErrorBuckets)]
		ch <- prometheus.MustNewConstHistogram(descAbsError, cum, sumAbs, buckets, route, a.name)
		ch <- prometheus.MustNewConstMetric(descSquared, prometheus.CounterValue, sumSq, route, a.name)
		ch <- prometheus.MustNewConstMetric(descSigned, prometheus.CounterValue, over, route, a.name, "over")
		ch <- prometheus.MustNewConstMetric(descSigned, prometheus.CounterValue, under, route, a.name, "under")
		return
	}
	names := m.classNames()
	for i := range names {
		for j := range names {
			if n := c.Confusion(i, j); n > 0 {
				ch <- prometheus.MustNewConstMetric(descOutcomes, prometheus.CounterValue, float64(n), route, a.name, names[i], names[j])
			}
		}
	}
	if m.spec.Kind != perf.Binary || c.ScoreBins() == 0 {
		return
	}
	bins := c.ScoreBins()
	posB, negB := make(map[float64]uint64, bins), make(map[float64]uint64, bins)
	var posCum, negCum uint64
	for b := range bins {
		pos, neg := c.Bin(b)
		posCum, negCum = posCum+pos, negCum+neg
		le := float64(b+1) / float64(bins)
		posB[le], negB[le] = posCum, negCum
		leLabel := strconv.FormatFloat(le, 'g', -1, 64)
		ch <- prometheus.MustNewConstMetric(descScoreBin, prometheus.CounterValue, float64(pos), route, a.name, names[1], leLabel)
		ch <- prometheus.MustNewConstMetric(descScoreBin, prometheus.CounterValue, float64(neg), route, a.name, names[0], leLabel)
	}
	posSum, negSum := c.ScoreSums()
	ch <- prometheus.MustNewConstHistogram(descScore, posCum, posSum, posB, route, a.name, names[1])
	ch <- prometheus.MustNewConstHistogram(descScore, negCum, negSum, negB, route, a.name, names[0])
	mt := c.Metrics()
	if mt.Scored > 0 && !math.IsNaN(mt.LogLoss) {
		ch <- prometheus.MustNewConstMetric(descLogLoss, prometheus.CounterValue, mt.LogLoss*float64(mt.Scored), route, a.name)
	}
	ch <- prometheus.MustNewConstMetric(descScored, prometheus.CounterValue, float64(mt.Scored), route, a.name)
}

func (m *Monitor) collectWindows(ch chan<- prometheus.Metric, route string, a *armMon) {
	for j, w := range m.names {
		mt := &a.metrics[j]
		ch <- prometheus.MustNewConstMetric(descWindowLabels, prometheus.GaugeValue, float64(mt.N), route, a.name, w)
		for _, f := range []struct {
			name  string
			value float64
		}{
			{"accuracy", mt.Accuracy}, {"precision", mt.Precision}, {"recall", mt.Recall}, {"f1", mt.F1},
			{"log_loss", mt.LogLoss}, {"auc", mt.AUC}, {"mae", mt.MAE}, {"rmse", mt.RMSE}, {"mean_error", mt.MeanError},
		} {
			if !math.IsNaN(f.value) {
				ch <- prometheus.MustNewConstMetric(descPerformance, prometheus.GaugeValue, f.value, route, a.name, w, f.name)
			}
		}
	}
}

// classNames are the actual and predicted label values: "0" and "1" for
// binary, the classes then "other" for categorical.
func (m *Monitor) classNames() []string {
	if m.spec.Kind == perf.Binary {
		return []string{"0", "1"}
	}
	return append(append([]string(nil), m.spec.Classes...), "other")
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
