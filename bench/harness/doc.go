// Package harness is `driftcar-bench proxy`: it measures what driftcar
// costs in front of a model server, next to the direct path and to nginx
// and Go's httputil.ReverseProxy, in one run, and writes the results under
// bench/results.
//
// A run starts its own fasthttp model stubs (bench/modelstub: live, a
// canary, a shadow and a 200 ms shadow), one driftcar per scenario (as a
// child process, or in-process with --mode inprocess), and the peers that
// are installed (each nginx scenario in its own one-worker nginx, from
// bench/peers/nginx.conf; the httputil peer built from
// peers/httputil/main.go). Peers that are missing are skipped with a note.
// It then measures, every scenario interleaved round by round (A B C ...
// A B C) so that machine drift hits them alike:
//
//   - the maximum throughput: closed loop, N connections, as wrk -cN;
//   - a latency-vs-rate sweep: open loop at constant rates (bench/loadgen),
//     latency from each request's intended send time, so that queueing is
//     not hidden (coordinated-omission correction), in HDR histograms.
//
// For each scenario it reports the achieved rate, p50/p90/p99/p99.9, the
// latency added over direct at the same rate, failures, the proxy
// process's CPU seconds per 1,000 requests (utime+stime from /proc) and its
// peak RSS (VmHWM), driftcar's own counters (shadow, sampler, drift), and
// the ratios that have targets.
//
// Run it:
//
//	go run ./cmd/driftcar-bench proxy --short     # make bench: under 3 minutes
//	go run ./cmd/driftcar-bench proxy             # make bench-full: the whole sweep, ~20 minutes
//	go run ./cmd/driftcar-bench proxy --scenarios direct,driftcar,nginx --rates 2000,10000
//	go run ./cmd/driftcar-bench proxy --profile   # also CPU profiles of every driftcar scenario
//	go run ./cmd/driftcar-bench readme            # README "Performance" from the newest full run
//
// Concurrency: Run, RunProxy and RunReadme may be called from any
// goroutine; a Report is a plain value and not safe for concurrent
// mutation.
package harness
