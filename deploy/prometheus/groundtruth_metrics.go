package prometheus

// GroundTruthMetrics maps the metrics a sidecar exports only when
// ground_truth is configured (labels joined to predictions, performance per
// arm, the challenger verdict) to their type, as Metrics does. KnownSeries
// accepts them; the running-sidecar test compares Metrics alone, so a name
// may move into Metrics once that test configures ground truth. Callers
// must not modify it.
var GroundTruthMetrics = map[string]string{
	"driftcar_labels_total":                   "counter",
	"driftcar_prediction_outcomes_total":      "counter",
	"driftcar_prediction_score":               "histogram",
	"driftcar_prediction_score_bin_total":     "counter",
	"driftcar_prediction_log_loss_total":      "counter",
	"driftcar_prediction_abs_error":           "histogram",
	"driftcar_prediction_squared_error_total": "counter",
	"driftcar_prediction_signed_error_total":  "counter",
	"driftcar_performance":                    "gauge",
	"driftcar_performance_labels":             "gauge",
	"driftcar_performance_state":              "gauge",
	"driftcar_performance_sla_breached":       "gauge",
	"driftcar_challenger_verdict":             "gauge",
	"driftcar_challenger_difference":          "gauge",
	"driftcar_challenger_pvalue":              "gauge",
	"driftcar_ground_truth_entries":           "gauge",
	"driftcar_ground_truth_evicted_total":     "counter",
}
