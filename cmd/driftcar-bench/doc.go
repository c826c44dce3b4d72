// Command driftcar-bench runs driftcar's benchmarks: the load benchmark
// against direct, nginx and httputil, the drift detection benchmark, the
// soak and the README performance section. It is a separate binary so that
// the sidecar does not link the benchmarks.
package main
