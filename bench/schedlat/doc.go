// Command schedlat reads a Go runtime execution trace (for example from
// driftcar's /debug/pprof/trace, with --pprof) and reports how long
// goroutines waited between becoming runnable and running, and why the
// long waits were long.
//
// A wait is "behind a silent P" when the P the goroutine finally ran on
// emitted no event for longer than --silence during the wait. Every
// syscall emits an event, so in a proxy, where no goroutine runs that long
// without a syscall, a silent P means its OS thread was off the CPU: the
// kernel preempted it and the goroutines queued on that P waited for the
// thread to be scheduled again.
//
// It sees waits in the run queues only. A goroutine whose socket is ready
// becomes runnable when the runtime next polls the network, and the time
// before that poll does not show in a runtime trace; `perf sched latency`
// measures the threads' own waits for a CPU.
//
//	curl -o trace.out 'http://127.0.0.1:9901/debug/pprof/trace?seconds=2'
//	go run ./bench/schedlat trace.out
//
// Concurrency: it reads one file on one goroutine and keeps no state
// between runs.
package main
