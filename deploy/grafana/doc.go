// Package grafana holds driftcar's Grafana dashboard, driftcar.json, and
// Queries, which extracts its PromQL with the dashboard variables filled in
// so that tests can run every panel's query against a real Prometheus.
//
// The dashboard has the variables datasource, model, route and feature
// (a numeric feature, or __prediction__). Its fleet PSI/KS panel reads the
// recording rules of deploy/prometheus/rules, as do the fleet panels of its
// Ground truth row, which show data only from sidecars with ground_truth
// configured; every other panel uses the metrics the sidecars export.
//
// All functions are safe for concurrent use.
package grafana
