package prometheus

import (
	"regexp"
	"sort"
	"strings"
)

// Metrics maps every metric name a driftcar sidecar exports (as listed in
// the README, plus the drift, canary guard, xDS and gRPC metrics) to its type:
// "counter", "gauge" or "histogram". Every one carries the model label.
// Callers must not modify it.
var Metrics = map[string]string{
	"driftcar_requests_total":                               "counter",
	"driftcar_request_duration_seconds":                     "histogram",
	"driftcar_upstream_duration_seconds":                    "histogram",
	"driftcar_upstream_errors_total":                        "counter",
	"driftcar_fallbacks_total":                              "counter",
	"driftcar_shadow_requests_total":                        "counter",
	"driftcar_shadow_comparisons_total":                     "counter",
	"driftcar_shadow_prediction_abs_diff":                   "histogram",
	"driftcar_shadow_status_mismatch_total":                 "counter",
	"driftcar_shadow_pairs_failed_alike_total":              "counter",
	"driftcar_shadow_pairs_expired_total":                   "counter",
	"driftcar_shadow_queue_length":                          "gauge",
	"driftcar_shadow_inflight":                              "gauge",
	"driftcar_sampler_rows_total":                           "counter",
	"driftcar_sampler_dropped_total":                        "counter",
	"driftcar_sampler_queue_length":                         "gauge",
	"driftcar_sampler_invalid_total":                        "counter",
	"driftcar_feature_value":                                "histogram",
	"driftcar_feature_bin_total":                            "counter",
	"driftcar_feature_reference_value":                      "histogram",
	"driftcar_feature_reference_bin_ratio":                  "gauge",
	"driftcar_feature_category_total":                       "counter",
	"driftcar_feature_distinct_estimate":                    "gauge",
	"driftcar_feature_out_of_range_total":                   "counter",
	"driftcar_feature_excluded_total":                       "counter",
	"driftcar_reference_info":                               "gauge",
	"driftcar_reference_learning_rows":                      "gauge",
	"driftcar_config_last_reload_successful":                "gauge",
	"driftcar_config_last_reload_success_timestamp_seconds": "gauge",
	"driftcar_config_info":                                  "gauge",
	"driftcar_build_info":                                   "gauge",
	"driftcar_drift_state":                                  "gauge",
	"driftcar_drift_statistic":                              "gauge",
	"driftcar_drift_threshold":                              "gauge",
	"driftcar_drift_pvalue":                                 "gauge",
	"driftcar_drift_window_samples":                         "gauge",
	"driftcar_drift_dataset_state":                          "gauge",
	"driftcar_drift_drifted_share":                          "gauge",
	"driftcar_drift_evaluations_total":                      "counter",
	"driftcar_webhook_notifications_total":                  "counter",
	"driftcar_webhook_pending":                              "gauge",
	"driftcar_worker_panics_total":                          "counter",
	"driftcar_canary_rollback_total":                        "counter",
	"driftcar_canary_state":                                 "gauge",
	"driftcar_llm_time_to_first_token_seconds":              "histogram",
	"driftcar_llm_inter_token_seconds":                      "histogram",
	"driftcar_llm_tokens_total":                             "counter",
	"driftcar_llm_finish_total":                             "counter",
	"driftcar_llm_uncounted_total":                          "counter",
	"driftcar_log_records_total":                            "counter",
	"driftcar_log_dropped_total":                            "counter",
	"driftcar_log_queue_records":                            "gauge",
	"driftcar_log_queue_bytes":                              "gauge",
	"driftcar_log_sink_ready":                               "gauge",
	"driftcar_xds_connected":                                "gauge",
	"driftcar_xds_updates_total":                            "counter",
	"driftcar_xds_last_ack_timestamp_seconds":               "gauge",
	"driftcar_grpc_requests_total":                          "counter",
	"driftcar_grpc_request_duration_seconds":                "histogram",
	"driftcar_grpc_fallbacks_total":                         "counter",
	"driftcar_grpc_refused_streams_total":                   "counter",
	"driftcar_labels_total":                                 "counter",
	"driftcar_prediction_outcomes_total":                    "counter",
	"driftcar_prediction_score":                             "histogram",
	"driftcar_prediction_score_bin_total":                   "counter",
	"driftcar_prediction_log_loss_total":                    "counter",
	"driftcar_prediction_scored_total":                      "counter",
	"driftcar_prediction_abs_error":                         "histogram",
	"driftcar_prediction_squared_error_total":               "counter",
	"driftcar_prediction_signed_error_total":                "counter",
	"driftcar_performance":                                  "gauge",
	"driftcar_performance_labels":                           "gauge",
	"driftcar_performance_state":                            "gauge",
	"driftcar_performance_sla_breached":                     "gauge",
	"driftcar_performance_evaluations_total":                "counter",
	"driftcar_challenger_verdict":                           "gauge",
	"driftcar_challenger_difference":                        "gauge",
	"driftcar_challenger_pvalue":                            "gauge",
	"driftcar_ground_truth_entries":                         "gauge",
	"driftcar_ground_truth_evicted_total":                   "counter",
	"driftcar_ground_truth_rows_over_cap_total":             "counter",
	"driftcar_ground_truth_predictions_total":               "counter",
	"driftcar_ground_truth_dropped_total":                   "counter",
}

// KnownSeries reports whether name is a series name driftcar exports: a
// name of Metrics, or a histogram's _bucket, _sum or _count series.
func KnownSeries(name string) bool {
	if typ, ok := Metrics[name]; ok {
		return typ != "histogram"
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if Metrics[base] == "histogram" {
				return true
			}
		}
	}
	return false
}

var driftcarName = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)

// SeriesNames returns the distinct identifiers of a PromQL expression that
// start with "driftcar_", sorted. Recording-rule names (level:metric:ops)
// contain a colon and are not returned.
func SeriesNames(expr string) []string {
	seen := map[string]bool{}
	for _, m := range driftcarName.FindAllString(expr, -1) {
		if strings.HasPrefix(m, "driftcar_") && !strings.Contains(m, ":") {
			seen[m] = true
		}
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}
