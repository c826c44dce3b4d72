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
// Then driftcar with and without the shadow are offered the same calls
// a second in an open loop (70% of the slower one's closed-loop
// throughput at that level), in the same rotated rounds, and their CPU
// per call is compared round by round; the target takes the median of
// the rounds' ratios, so that one round disturbed by another tenant of
// the machine does not decide it (each round's ratio is in the notes).
//
// The report gives throughput and p50/p99 per path and driftcar's ratios
// to nginx, with the targets: driftcar >= 1.0x nginx's throughput and its
// p99 no worse; and driftcar mirroring every call to a shadow that answers
// after 200 ms keeps >= 0.95x of its own throughput per CPU second at
// equal load (its process's CPU from /proc). The closed-loop ratios are
// notes: the 200 ms stub and the client run in this process, on the same
// cores, so the shadowed run is offered less, and driftcar's CPU per call
// rises as its load falls.
//
// Run it:
//
//	go run ./cmd/driftcar-bench grpc --short    # make bench
//	go run ./cmd/driftcar-bench grpc            # 3 rounds of 5 s at 1, 32 and 256 calls in flight
//
// Concurrency: Run and RunCLI may be called from any goroutine; a Report
// is a plain value.
package grpcbench
