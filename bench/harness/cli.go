package harness

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/driftcar/driftcar/bench/modelstub"
)

// ProxyUsage is the help text of `driftcar-bench proxy`.
const ProxyUsage = `usage: driftcar-bench proxy [--short] [flags]

Measures driftcar against the direct path and its peers (nginx and Go's
httputil.ReverseProxy, when installed) in one run: closed-loop maximum
throughput, then an open-loop latency-vs-rate sweep, every scenario
interleaved round by round. Prints a table and writes
bench/results/<date>-<host>.md, .json and a plot.

`

// RunProxy runs `driftcar-bench proxy` with args (the flags after
// "proxy") and returns the exit code: 0 when the benchmark ran (missed
// targets included), 1 when it failed, 2 for bad flags.
func RunProxy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, ProxyUsage)
		fs.PrintDefaults()
	}
	def := DefaultOptions(false)
	short := fs.Bool("short", false, "the quick run of make bench (under 3 minutes)")
	mode := fs.String("mode", def.Mode, "run driftcar as a child process per scenario (child) or inside this process (inprocess)")
	bin := fs.String("driftcar-bin", "", "driftcar binary for --mode child (default: go build ./cmd/driftcar into a temp dir)")
	scen := fs.String("scenarios", "", "comma-separated scenarios to run (default: all of "+strings.Join(scenarioNames(), ",")+")")
	skip := fs.String("skip", "", "comma-separated scenarios to leave out")
	rates := fs.String("rates", "", "comma-separated open-loop rates in req/s (default 1000,...,30000; short 5000,15000)")
	tableRate := fs.Float64("table-rate", def.TableRate, "open-loop rate of the summary table, req/s")
	duration := fs.Duration("duration", 0, "each measured run (default 5s; short 1.5s)")
	warmup := fs.Duration("warmup", 0, "closed-loop warm-up per scenario (default 1s; short 500ms)")
	rounds := fs.Int("rounds", 0, "interleaved rounds (default 3; short 2)")
	conns := fs.Int("conns", def.Conns, "closed-loop connections (as wrk -c)")
	maxInFlight := fs.Int("max-inflight", def.MaxInFlight, "open-loop cap on requests in flight")
	timeout := fs.Duration("timeout", def.Timeout, "per-request timeout")
	protocol := fs.String("protocol", "v1", "payload: v1 (KServe) or v2 (Open Inference)")
	delay := fs.Duration("delay", 0, "live model answer delay")
	errorRate := fs.Float64("error-rate", 0, "fraction of live answers that are 500s")
	shadowDelay := fs.Duration("shadow-delay", def.ShadowDelay, "answer delay of the slow shadow")
	settle := fs.Duration("settle", 0, "pause between runs (default 200ms; short 100ms)")
	gomaxprocs := fs.Int("gomaxprocs", 0, "GOMAXPROCS of the driftcar child processes (default: the Go runtime's)")
	profile := fs.Bool("profile", false, "save a CPU profile of each driftcar scenario under load into --out (child mode)")
	out := fs.String("out", def.OutDir, `results directory; "" writes no files`)
	plotFormat := fs.String("plot", def.PlotFormat, "plot format: svg or png")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "driftcar-bench proxy: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	o := DefaultOptions(*short)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	o.Mode, o.DriftcarBin, o.TableRate, o.Conns, o.MaxInFlight = *mode, *bin, *tableRate, *conns, *maxInFlight
	o.Timeout, o.LiveDelay, o.ErrorRate, o.ShadowDelay = *timeout, *delay, *errorRate, *shadowDelay
	if set["settle"] {
		o.Settle = *settle
	}
	o.Profile, o.OutDir, o.PlotFormat, o.GOMAXPROCS = *profile, *out, *plotFormat, *gomaxprocs
	if set["duration"] {
		o.Duration = *duration
	}
	if set["warmup"] {
		o.Warmup = *warmup
	}
	if set["rounds"] {
		o.Rounds = *rounds
	}
	if set["scenarios"] {
		o.Scenarios = splitList(*scen)
	}
	if set["skip"] {
		drop := splitList(*skip)
		for _, n := range drop {
			if _, ok := scenarioInfo(n); !ok {
				errs = append(errs, fmt.Errorf("--skip: unknown scenario %q", n))
			}
		}
		var keep []string
		for _, n := range o.Scenarios {
			if !contains(drop, n) {
				keep = append(keep, n)
			}
		}
		o.Scenarios = keep
	}
	if set["rates"] {
		o.Rates = nil
		for _, s := range splitList(*rates) {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("--rates: cannot parse %q", s))
				continue
			}
			o.Rates = append(o.Rates, v)
		}
	}
	p, err := modelstub.ParseProtocol(*protocol)
	errs = append(errs, err)
	o.Protocol = p
	o.Command = commandLine(args)
	o.Progress = stderr
	if err := errors.Join(append(errs, o.validate())...); err != nil {
		fmt.Fprintf(stderr, "driftcar-bench proxy: %v\n", err)
		return 2
	}

	rep, err := Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "driftcar-bench proxy: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, rep.Text())
	if o.OutDir != "" {
		paths, err := rep.Write(o.OutDir, o.PlotFormat)
		if err != nil {
			fmt.Fprintf(stderr, "driftcar-bench proxy: cannot write results: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "\nwrote %s\n", strings.Join(paths, ", "))
	}
	if missed := rep.missedTargets(); len(missed) > 0 {
		fmt.Fprintf(stdout, "\ntargets missed in this run:\n  %s\n", strings.Join(missed, "\n  "))
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// commandLine is how the report names the command that produced it.
func commandLine(args []string) string {
	parts := []string{"driftcar-bench", "proxy"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\*?;&|<>()") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// ReadmeUsage is the help text of `driftcar-bench readme`.
const ReadmeUsage = `usage: driftcar-bench readme [--readme README.md] [--results bench/results] [--check]

Rewrites the "## Performance" section of the README from the newest
full run's results JSON (a --short run's only when there is no full one);
--check only reports whether it is up to date.
`

// RunReadme runs `driftcar-bench readme` with args and returns the exit
// code: 0 done (or up to date), 1 failed or, with --check, out of date,
// 2 bad flags.
func RunReadme(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench readme", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, ReadmeUsage)
		fs.PrintDefaults()
	}
	readme := fs.String("readme", "README.md", "README to update")
	results := fs.String("results", "bench/results", "directory of results JSON files")
	check := fs.Bool("check", false, "only check that the section is up to date")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	changed, err := UpdateReadme(*readme, *results, *check)
	if err != nil {
		fmt.Fprintf(stderr, "driftcar-bench readme: %v\n", err)
		return 1
	}
	switch {
	case !changed:
		fmt.Fprintf(stdout, "%s is up to date\n", *readme)
	default:
		fmt.Fprintf(stdout, "updated the %q section of %s\n", ReadmeHeading, *readme)
	}
	return 0
}
