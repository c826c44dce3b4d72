// Package sidecar wires driftcar's parts into one running process: it loads
// the config, starts the proxy and admin listeners, reloads on request,
// probes the live upstream for readiness, and drains on shutdown.
//
// Concurrency: a Sidecar is driven by one goroutine calling Run; Reload,
// the address getters and the admin handlers are safe to call from any
// goroutine while it runs.
package sidecar
