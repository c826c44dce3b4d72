package soak

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Usage is the help text of `driftcar-bench soak`.
const Usage = `usage: driftcar-bench soak [flags]

Runs driftcar (the one next to this binary, or --driftcar-bin) for
--duration at --rate requests/s with every feature on and every dependency
misbehaving, samples its RSS, heap, goroutines, fds and queues, reconciles
every count, and writes <out>/<date>-soak.{md,json,svg}. It exits 1 if a
pass criterion fails.

`

// RunCLI is `driftcar-bench soak`.
func RunCLI(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, Usage)
		fs.PrintDefaults()
	}
	var o Options
	fs.DurationVar(&o.Duration, "duration", 10*time.Minute, "how long the measured traffic runs")
	fs.DurationVar(&o.Warmup, "warmup", time.Minute, "traffic before the measured duration")
	fs.Float64Var(&o.Rate, "rate", 5000, "offered requests per second (open loop)")
	fs.IntVar(&o.Conns, "conns", 256, "client connections (and requests in flight) at most")
	fs.DurationVar(&o.Interval, "interval", 2*time.Second, "time between samples of the process")
	fs.DurationVar(&o.ChangeEvery, "change-every", 5*time.Second, "time between config changes")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the data and the faults")
	bin := fs.String("driftcar-bin", "", "driftcar binary to soak (default: driftcar next to this binary)")
	out := fs.String("out", "bench/results", `directory of the report; "" writes none`)
	name := fs.String("name", "", "report file stem (default <date>-soak)")
	fs.BoolVar(&o.LogSinkDead, "log-sink-dead", false, "make the prediction log's CloudEvents receiver dead (it never answers) instead of refusing every fifth event")
	fs.BoolVar(&o.HeapProfiles, "heap-profiles", false, "save driftcar's heap profile after each quarter into --keep")
	keep := fs.String("keep", "", "directory to keep the configs and driftcar's log in (default: a temporary one)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "driftcar-bench soak: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	o.Binary, o.Dir, o.Progress = *bin, *keep, stdout
	if o.Binary == "" {
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintf(stderr, "driftcar-bench soak: cannot find this binary: %v\n", err)
			return 1
		}
		o.Binary = filepath.Join(filepath.Dir(self), "driftcar")
	}
	fmt.Fprintf(stdout, "driftcar-bench soak: %s after %s of warm-up, at %.0f requests/s; a line every 10 s\n", o.Duration, o.Warmup, o.Rate)
	rep, err := Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "driftcar-bench soak: %v\n", err)
		return 1
	}
	if *name == "" {
		*name = rep.Started.Format("2006-01-02") + "-soak"
	}
	command := "driftcar-bench soak " + strings.Join(args, " ")
	md := rep.Markdown(strings.TrimSpace(command), *name+".svg")
	if *out != "" {
		if err := write(*out, *name, rep, md); err != nil {
			fmt.Fprintf(stderr, "driftcar-bench soak: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %s.{md,json,svg}\n", filepath.Join(*out, *name))
	}
	_, _ = stdout.Write(md)
	if !rep.Pass {
		fmt.Fprintln(stderr, "driftcar-bench soak: FAIL (see the checks above)")
		return 1
	}
	return 0
}

func write(dir, name string, rep *Report, md []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := rep.JSON()
	if err != nil {
		return err
	}
	svg, err := rep.PlotSVG()
	if err != nil {
		return err
	}
	for ext, data := range map[string][]byte{".md": md, ".json": js, ".svg": svg} {
		if err := os.WriteFile(filepath.Join(dir, name+ext), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
