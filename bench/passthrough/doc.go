// Command passthrough is the floor that driftcar's proxy is measured
// against: a bare fasthttp reverse proxy (one HostClient, no routing,
// header handling, metrics or timeouts) with the same library and
// defaults driftcar builds on. bench/peers.sh runs it next to driftcar
// and nginx, so the cost of driftcar's own work and the cost of the
// library are told apart in one run.
//
// Concurrency: it has no state of its own; fasthttp's server and
// HostClient are safe for concurrent use.
package main
