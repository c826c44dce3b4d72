// Package prometheus holds driftcar's Prometheus kit: the scrape configs
// (prometheus.yml for Kubernetes, prometheus-local.yml for one sidecar on
// this machine), the recording and alert rules under rules/, and their
// promtool unit tests under tests/.
//
// The Go code is the reference for what the rules compute: PSI and
// BinnedKS evaluate the fleet drift statistics of the recording rules from
// the same counts, and the package tests generate tests/fleet.test.yml from
// them, so promtool checks the PromQL against Go (go test
// ./deploy/prometheus -update rewrites the file); BinnedAUC is the fleet
// AUC of the ground-truth rules, checked against scipy. Metrics lists every
// metric name driftcar exports, for tests that check queries for typos.
//
// All functions are safe for concurrent use.
package prometheus
