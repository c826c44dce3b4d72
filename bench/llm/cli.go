package llm

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

// Usage is the help text of `driftcar-bench llm`.
const Usage = `usage: driftcar-bench llm [--short] [flags]

Streams chat completions from a stub OpenAI server (N tokens at a fixed
interval) straight, through driftcar (plain, and with sampling and shadow
at 100%) and through nginx with proxy_buffering off, in one run, at each
concurrency level; measures time to first token, inter-token gaps and each
chunk's lag in HDR histograms. Prints a table and writes
bench/results/<date>-<host>-llm.md and .json.

`

// RunCLI runs `driftcar-bench llm` with args and returns the exit code:
// 0 when the benchmark ran (missed targets included), 1 when it failed,
// 2 for bad flags.
func RunCLI(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench llm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, Usage)
		fs.PrintDefaults()
	}
	def := DefaultOptions(false)
	short := fs.Bool("short", false, "the quick run of make bench: 16 tokens at 10ms, 1s per measurement")
	tokens := fs.Int("tokens", 0, "tokens per answer (default 64; short 16)")
	interval := fs.Duration("interval", 0, "time between tokens (default 20ms; short 10ms)")
	streams := fs.String("streams", "", "comma-separated concurrency levels (default 1,50,500)")
	duration := fs.Duration("duration", 0, "how long each measurement starts streams (default 5s; short 1s)")
	rounds := fs.Int("rounds", 0, "rounds per level, each in a rotated path order, merged (default 3; short 2)")
	big := fs.Int64("big-bytes", def.BigBytes, "size of the one large response sent through every path to check memory; 0 skips it")
	settle := fs.Duration("settle", 0, "pause between measurements (default 500ms; short 200ms)")
	timeout := fs.Duration("timeout", def.Timeout, "bound on one stream")
	pathList := fs.String("paths", "", "comma-separated paths (default all of "+strings.Join(pathNames(), ",")+")")
	mode := fs.String("mode", def.Mode, "run driftcar as a child process (child) or inside this process (inprocess)")
	bin := fs.String("driftcar-bin", "", "driftcar binary for --mode child (default: go build ./cmd/driftcar into a temp dir)")
	out := fs.String("out", def.OutDir, `results directory; "" writes no files`)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "driftcar-bench llm: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	o := DefaultOptions(*short)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	if set["tokens"] {
		o.Tokens = *tokens
	}
	if set["interval"] {
		o.Interval = *interval
	}
	if set["duration"] {
		o.Duration = *duration
	}
	if set["rounds"] {
		o.Rounds = *rounds
	}
	if set["settle"] {
		o.Settle = *settle
	}
	if set["streams"] {
		o.Streams = nil
		for _, s := range splitList(*streams) {
			n, err := strconv.Atoi(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("--streams: cannot parse %q", s))
				continue
			}
			o.Streams = append(o.Streams, n)
		}
	}
	if set["paths"] {
		o.Paths = splitList(*pathList)
	}
	o.Timeout, o.Mode, o.DriftcarBin, o.OutDir, o.BigBytes = *timeout, *mode, *bin, *out, *big
	o.Command = commandLine(args)
	o.Progress = stderr
	if err := errors.Join(append(errs, o.validate())...); err != nil {
		fmt.Fprintf(stderr, "driftcar-bench llm: %v\n", err)
		return 2
	}
	start := time.Now()
	rep, err := Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "driftcar-bench llm: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, rep.Text())
	if o.OutDir != "" {
		paths, err := rep.Write(o.OutDir)
		if err != nil {
			fmt.Fprintf(stderr, "driftcar-bench llm: cannot write results: %v\n", err)
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

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// commandLine is how the report names the command that produced it.
func commandLine(args []string) string {
	parts := []string{"driftcar-bench", "llm"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\*?;&|<>()") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
