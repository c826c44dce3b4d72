package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/driftcar/driftcar/bench/drift"
	"github.com/driftcar/driftcar/bench/grpcbench"
	"github.com/driftcar/driftcar/bench/harness"
	"github.com/driftcar/driftcar/bench/llm"
	"github.com/driftcar/driftcar/bench/soak"
	"github.com/driftcar/driftcar/internal/buildinfo"
)

const usage = `usage: driftcar-bench <command> [flags]

commands:
  proxy [--short]     load benchmark: driftcar vs direct, nginx and httputil
  llm [--short]       LLM streaming: TTFT and inter-token latency vs direct and nginx
  grpc [--short]      gRPC ModelInfer throughput and p50/p99 vs direct and nginx grpc_pass
  drift [--short]     detection benchmark on a simulated clock
  soak [--duration]   soak: everything on, faults everywhere, checked for leaks and losses
  readme [--check]    regenerate the README performance section
  version             print the version
`

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "proxy":
		return harness.RunProxy(ctx, rest, stdout, stderr)
	case "llm":
		return llm.RunCLI(ctx, rest, stdout, stderr)
	case "grpc":
		return grpcbench.RunCLI(ctx, rest, stdout, stderr)
	case "drift":
		return drift.RunCLI(rest, stdout, stderr)
	case "readme":
		return harness.RunReadme(ctx, rest, stdout, stderr)
	case "soak":
		return soak.RunCLI(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, buildinfo.Get())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "driftcar-bench: unknown command %q\n\n%s", cmd, usage)
	return 2
}
