package grpcbench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Usage is the help text of `driftcar-bench grpc`.
const Usage = `usage: driftcar-bench grpc [--short] [flags]

Unary ModelInfer calls in a closed loop straight to a grpc-go stub,
through driftcar's gRPC listener and through nginx grpc_pass, in one run;
prints throughput and p50/p99 and driftcar's ratios to nginx, and writes
bench/results/<date>-<host>-grpc.md and .json.

`

// RunCLI runs `driftcar-bench grpc` and returns the exit code: 0 when it
// ran (missed targets included), 1 when it failed, 2 for bad flags.
func RunCLI(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench grpc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, Usage)
		fs.PrintDefaults()
	}
	short := fs.Bool("short", false, "the quick run of make bench: 32 in flight, 2 rounds of 2s")
	conns := fs.String("in-flight", "", "comma-separated levels of calls in flight (default 1,32,256; short 32)")
	duration := fs.Duration("duration", 0, "length of each measurement (default 5s; short 2s)")
	rounds := fs.Int("rounds", 0, "rounds per level (default 3; short 2)")
	bin := fs.String("driftcar-bin", "", "driftcar binary (default: go build ./cmd/driftcar into a temp dir)")
	out := fs.String("out", "bench/results", `results directory; "" writes no files`)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	o := DefaultOptions(*short)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["in-flight"] {
		o.Conns = nil
		for f := range strings.SplitSeq(*conns, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				fmt.Fprintf(stderr, "driftcar-bench grpc: --in-flight: cannot parse %q\n", f)
				return 2
			}
			o.Conns = append(o.Conns, n)
		}
	}
	if set["duration"] {
		o.Duration = *duration
	}
	if set["rounds"] {
		o.Rounds = *rounds
	}
	if o.Duration <= 0 || o.Rounds < 1 || len(o.Conns) == 0 || fs.NArg() > 0 {
		fmt.Fprint(stderr, "driftcar-bench grpc: bad flags\n")
		return 2
	}
	o.DriftcarBin, o.OutDir, o.Progress = *bin, *out, stderr
	if len(args) > 0 {
		o.Command = "driftcar-bench grpc " + strings.Join(args, " ")
	}
	start := time.Now()
	rep, err := Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "driftcar-bench grpc: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, rep.Text())
	if o.OutDir != "" {
		paths, err := rep.Write(o.OutDir)
		if err != nil {
			fmt.Fprintf(stderr, "driftcar-bench grpc: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "\nwrote %s\n", strings.Join(paths, ", "))
	}
	fmt.Fprintf(stdout, "ran in %s\n", time.Since(start).Round(100*time.Millisecond))
	if missed := rep.Missed(); len(missed) > 0 {
		fmt.Fprintf(stdout, "%d of %d targets missed in this run (MISS above)\n", len(missed), len(rep.Targets))
	}
	return 0
}
