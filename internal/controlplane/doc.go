// Package controlplane is the control plane behind "driftcar controlplane
// --dir DIR": a go-control-plane ADS server that serves each sidecar the
// config file named after its node id or node cluster, translated into
// Envoy resources (Translate; Render prints them). Invalid files are
// logged and counted, and their last valid snapshot keeps serving. The
// file rules, translation and metrics are in docs/controlplane.md.
//
// Concurrency: New binds the listeners and loads the directory; Serve runs
// until its context ends and must be called once. Files, Addr and
// AdminAddr are safe for concurrent use. Translate and Render are pure.
package controlplane
