// Package deploy is driftcar's deployment kit; see README.md in this
// directory. Its subdirectories hold the Kubernetes manifests (k8s), the
// Prometheus scrape configs, rules and rule tests (prometheus), the Grafana
// dashboard (grafana), and the Flagger (flagger) and Argo Rollouts
// (argo-rollouts) analysis templates.
//
// The package has no Go API; its tests decode the Flagger and Argo Rollouts
// objects strictly and check their queries: known metric names, defined
// template variables, and PromQL that promtool parses; the ground-truth
// gates are also evaluated by promtool on pods with known outcomes.
package deploy
