// Package k8s holds driftcar's Kubernetes manifests, as kustomize
// directories:
//
//   - base: a model Deployment with the driftcar sidecar, its Service and
//     sidecar config (ConfigMap), the canary and shadow model Deployments and
//     Services, a NetworkPolicy for the admin port, and the Prometheus
//     Operator's PodMonitor and PrometheusRule;
//   - controlplane: the driftcar xDS control plane, its Service and
//     PodMonitor, and the fleet configs it serves;
//   - overlays/xds: base and controlplane, with the sidecars configured over
//     xDS;
//   - overlays/grpc: base with the model served over gRPC: the sidecar's
//     grpc port behind a Service port named grpc (appProtocol grpc, as
//     Istio expects), and a config with grpc_listen;
//   - knative: a Knative Service exposing the sidecar's gRPC listener as its
//     h2c port.
//
// The package has no Go API. Its tests decode every manifest strictly into
// the k8s.io/api types, render each directory with kustomize's Go API,
// parse the sidecar configs with driftcar's config package, check that
// ports, probes, volumes and selectors fit together, and keep
// base/prometheusrule.yaml equal to deploy/prometheus/rules (go test
// ./deploy/k8s -update regenerates it).
package k8s
