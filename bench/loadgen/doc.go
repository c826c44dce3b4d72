// Package loadgen drives HTTP load for driftcar's benchmarks: an open-loop
// constant-rate generator that sends each request at its scheduled time
// whether or not earlier ones returned, and a closed-loop generator that
// keeps N requests in flight (wrk -cN) to find the maximum throughput.
//
// Latency goes into HDR histograms (github.com/HdrHistogram/hdrhistogram-go).
// The open-loop generator measures each request from its intended send
// time, not from when it actually left, so the queueing that a stalled
// server causes is counted (coordinated-omission correction, as wrk2
// does). It records the naive latency (from the actual send) and the send
// lag (actual minus intended send time) too, so a report can show what
// correction changed and whether the generator itself kept up.
//
// The open-loop schedule is kept by one pacer on a locked OS thread that
// sleeps with nanosleep and a 1 µs timer slack on Linux, because the Go
// runtime's own timers wake up to a millisecond late when a process is
// idle; elsewhere it falls back to time.Sleep.
//
// Concurrency: OpenLoop and ClosedLoop may run concurrently with each
// other; a Requester must be safe for concurrent use. Histograms are not
// safe for concurrent use.
package loadgen
