// Package grpcbench is `driftcar-bench grpc`: unary ModelInfer throughput
// and latency through driftcar's gRPC listener, next to the direct path
// and to nginx's grpc_pass, in one run.
//
// A run starts a grpc-go Open Inference stub (ModelInfer answering a
// fixed Triton-shaped response, raw codec), driftcar as a child process
// with one open-inference-v2 route to it, and a one-worker nginx with
// grpc_pass over a keep-alive HTTP/2 upstream when nginx is installed
// (skipped with a note when not). Each path in turn, in rotated order per
// round, gets a closed loop of Conns calls in flight over four client
// connections; latencies go into HDR histograms.
//
// The report gives throughput and p50/p99 per path and driftcar's ratios
// to nginx, with the targets: driftcar >= 1.0x nginx's throughput and its
// p99 no worse; and driftcar mirroring every call to a shadow that answers
// after 200 ms keeps >= 0.95x of its own throughput per CPU second (its
// process's CPU from /proc). The raw throughput ratio is a note: the 200 ms
// stub and the client run in this process, on the same cores.
//
// Run it:
//
//	go run ./cmd/driftcar-bench grpc --short    # make bench
//	go run ./cmd/driftcar-bench grpc            # 3 rounds of 5 s at 1, 32 and 256 calls in flight
//
// Concurrency: Run and RunCLI may be called from any goroutine; a Report
// is a plain value.
package grpcbench
