package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/driftcar/driftcar/bench/benchproc"
	"github.com/driftcar/driftcar/bench/llmstub"
	"github.com/driftcar/driftcar/internal/sidecar"
)

// Modes of running driftcar.
const (
	ModeChild     = "child"     // bin/driftcar as a child process (the measurement)
	ModeInProcess = "inprocess" // inside the benchmark process (tests)
)

// Options configure a run.
type Options struct {
	// Short is the quick run of make bench.
	Short bool
	// Tokens is the number of content chunks the stub streams per answer.
	Tokens int
	// Interval is the stub's time between tokens.
	Interval time.Duration
	// Streams are the concurrency levels, each a closed loop of that
	// many concurrent streams.
	Streams []int
	// Duration is how long each path starts new streams at each level.
	Duration time.Duration
	// Rounds repeats every level's measurements, each round in a rotated
	// path order, and merges them: drift in the machine's load then
	// falls on every path alike.
	Rounds int
	// BigBytes is the size of the one large response sent through every
	// path after the streams, to check that memory stays flat; 0 skips it.
	BigBytes int64
	// Settle is the pause between two measurements.
	Settle time.Duration
	// Timeout bounds one stream.
	Timeout time.Duration
	// Paths are the paths to measure, of direct, driftcar,
	// driftcar+taps and nginx.
	Paths []string
	// Mode runs driftcar as a child process or in-process.
	Mode string
	// DriftcarBin is the driftcar binary of ModeChild; "" builds one.
	DriftcarBin string
	// OutDir receives the results files; "" writes none.
	OutDir string
	// Command is the command line recorded in the report.
	Command string
	// Progress, when set, receives a line per measurement.
	Progress io.Writer
}

// DefaultOptions returns the settings of `driftcar-bench llm`, or with
// short of `driftcar-bench llm --short` (make bench, about 30 s).
func DefaultOptions(short bool) Options {
	o := Options{
		Short:    short,
		Tokens:   64,
		Interval: 20 * time.Millisecond,
		Streams:  []int{1, 50, 500},
		Duration: 5 * time.Second,
		Rounds:   3,
		BigBytes: 1 << 30,
		Settle:   500 * time.Millisecond,
		Timeout:  time.Minute,
		Paths:    pathNames(),
		Mode:     ModeChild,
		OutDir:   filepath.Join("bench", "results"),
		Command:  "driftcar-bench llm",
	}
	if short {
		o.Tokens, o.Interval = 16, 10*time.Millisecond
		o.Duration, o.Rounds, o.Settle = time.Second, 2, 200*time.Millisecond
		o.Command = "driftcar-bench llm --short"
	}
	return o
}

func pathNames() []string {
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = p.Name
	}
	return names
}

func (o *Options) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.Tokens < 1 {
		bad("tokens must be >= 1, got %d", o.Tokens)
	}
	if o.Interval <= 0 {
		bad("interval must be > 0, got %s", o.Interval)
	}
	if len(o.Streams) == 0 {
		bad("at least one concurrency level is required")
	}
	for _, n := range o.Streams {
		if n < 1 {
			bad("streams must be >= 1, got %d", n)
		}
	}
	if o.BigBytes < 0 {
		bad("big-bytes must be >= 0, got %d", o.BigBytes)
	}
	if o.Rounds < 1 {
		bad("rounds must be >= 1, got %d", o.Rounds)
	}
	if o.Duration <= 0 {
		bad("duration must be > 0, got %s", o.Duration)
	}
	if o.Timeout <= 0 {
		bad("timeout must be > 0, got %s", o.Timeout)
	}
	if o.Mode != ModeChild && o.Mode != ModeInProcess {
		bad("mode must be %s or %s, got %q", ModeChild, ModeInProcess, o.Mode)
	}
	if len(o.Paths) == 0 {
		bad("at least one path is required")
	}
	for _, p := range o.Paths {
		if _, ok := pathInfo(p); !ok {
			bad("unknown path %q (want %s)", p, strings.Join(pathNames(), ", "))
		}
	}
	if !slices.Contains(o.Paths, Direct) {
		bad("the direct path is required: every other is compared with it")
	}
	return errors.Join(errs...)
}

// target is one path's endpoint and what serves it.
type target struct {
	info PathInfo
	addr string
	pid  int // the driftcar child's, else 0
	stop func() error
}

// env is everything a run starts.
type env struct {
	opts         Options
	dir          string
	live, shadow *llmstub.Server
	targets      []*target
	skipped      map[string]string
	notes        []string
	nginxVersion string
	log          func(string, ...any)
}

// Run measures every path at every concurrency level and returns the
// report. A missing nginx is skipped with a note; a driftcar that does
// not start is an error.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	log := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "llm: "+format+"\n", args...)
		}
	}
	rep := newReport(opts)
	e, err := setup(ctx, opts, log)
	if err != nil {
		return nil, err
	}
	defer e.close()
	rep.Machine.Nginx = e.nginxVersion
	for _, name := range opts.Paths {
		if why, ok := e.skipped[name]; ok {
			rep.Skipped = append(rep.Skipped, Skip{Path: name, Why: why})
		}
	}
	rep.Notes = append(rep.Notes, e.notes...)
	for _, n := range opts.Streams {
		results := make([]*Result, len(e.targets))
		rounds := make([][]*Result, len(e.targets))
		for round := range opts.Rounds {
			for k := range e.targets {
				i := (k + round) % len(e.targets)
				t := e.targets[i]
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				log("%s at %d streams (round %d of %d)", t.info.Name, n, round+1, opts.Rounds)
				res := e.measure(ctx, t, n)
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				if res.Failed > 0 {
					log("%s at %d streams: %d failed (%s)", t.info.Name, n, res.Failed, res.FirstError)
				}
				rounds[i] = append(rounds[i], res)
				if results[i] == nil {
					results[i] = newResult()
				}
				results[i].merge(res)
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(opts.Settle):
				}
			}
		}
		for i, t := range e.targets {
			rep.Cells = append(rep.Cells, newCell(t.info.Name, n, results[i], rounds[i]))
		}
	}
	if opts.BigBytes > 0 {
		for _, t := range e.targets {
			log("%s: one response of %d MiB", t.info.Name, opts.BigBytes>>20)
			rep.Big = append(rep.Big, e.measureBig(ctx, t, opts.BigBytes))
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	rep.Finished = time.Now().UTC()
	rep.derive()
	return rep, nil
}

// measure warms up n connections with one stream each, then runs the
// closed loop of n streams for Duration.
func (e *env) measure(ctx context.Context, t *target, n int) *Result {
	hc := NewHTTPClient(n)
	defer hc.CloseIdleConnections()
	url := "http://" + t.addr + ChatPath
	l := Load{
		Streams: n, Duration: e.opts.Duration, Interval: e.opts.Interval, Tokens: e.opts.Tokens, Timeout: e.opts.Timeout,
		NewClient: func() *Client { return NewClient(hc, url, requestBody) },
	}
	warm := l
	warm.PerStream = 1
	warm.Run(ctx)
	return l.Run(ctx)
}

func setup(ctx context.Context, opts Options, log func(string, ...any)) (_ *env, err error) {
	e := &env{opts: opts, skipped: map[string]string{}, log: log}
	if e.dir, err = os.MkdirTemp("", "driftcar-bench-llm-"); err != nil {
		return nil, fmt.Errorf("cannot create a temp dir: %w", err)
	}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	stub := llmstub.Options{Tokens: opts.Tokens, Interval: opts.Interval}
	if e.live, err = llmstub.Start("127.0.0.1:0", stub); err != nil {
		return nil, err
	}
	if e.shadow, err = llmstub.Start("127.0.0.1:0", stub); err != nil {
		return nil, err
	}
	var driftcarBin, nginxBin string
	for _, name := range opts.Paths {
		switch name {
		case Driftcar, DriftcarTaps:
			if opts.Mode == ModeChild && driftcarBin == "" {
				if driftcarBin, err = findDriftcar(ctx, opts.DriftcarBin, e.dir, log); err != nil {
					return nil, err
				}
			}
			if name == DriftcarTaps {
				if err := writeReference(filepath.Join(e.dir, "reference.json")); err != nil {
					return nil, err
				}
			}
		case Nginx:
			nginxBin, e.nginxVersion = benchproc.FindNginx()
		}
	}
	for _, p := range paths {
		if !slices.Contains(opts.Paths, p.Name) {
			continue
		}
		var t *target
		var err error
		switch p.Name {
		case Direct:
			t = &target{addr: e.live.Addr()}
		case Driftcar, DriftcarTaps:
			log("starting %s", p.Name)
			if t, err = e.startDriftcar(ctx, p.Name, driftcarBin); err != nil {
				return nil, fmt.Errorf("cannot start %s: %w", p.Name, err)
			}
		case Nginx:
			if nginxBin == "" {
				e.skipped[p.Name] = "nginx is not installed (apt-get install nginx)"
				log("skipping nginx: not installed (apt-get install nginx)")
				continue
			}
			log("starting nginx")
			if t, err = e.startNginx(ctx, nginxBin); err != nil {
				if errors.Is(err, context.Canceled) {
					return nil, err
				}
				e.skipped[p.Name] = err.Error()
				log("skipping nginx: %v", err)
				continue
			}
		}
		t.info = p
		e.targets = append(e.targets, t)
	}
	return e, nil
}

func (e *env) close() {
	for _, t := range e.targets {
		if t.stop != nil {
			if err := t.stop(); err != nil {
				e.log("stopping %s: %v", t.info.Name, err)
			}
		}
	}
	for _, s := range []*llmstub.Server{e.live, e.shadow} {
		if s != nil {
			_ = s.Close()
		}
	}
	_ = os.RemoveAll(e.dir)
}

func (e *env) startDriftcar(ctx context.Context, name, bin string) (*target, error) {
	dir := filepath.Join(e.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	listen, admin := "127.0.0.1:0", "127.0.0.1:0"
	if e.opts.Mode == ModeChild {
		var err1, err2 error
		listen, err1 = benchproc.FreeAddr()
		admin, err2 = benchproc.FreeAddr()
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
	}
	yaml, err := driftcarConfig(name, listen, admin, e.live.Addr(), e.shadow.Addr(), filepath.Join(e.dir, "reference.json"))
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "driftcar.yaml")
	if err := writeFile(cfg, yaml); err != nil {
		return nil, err
	}
	if e.opts.Mode == ModeInProcess {
		s, err := sidecar.New(sidecar.Options{ConfigPath: cfg, Logger: zap.NewNop()})
		if err != nil {
			return nil, err
		}
		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(runCtx, nil) }()
		t := &target{addr: s.ProxyAddr(), stop: func() error {
			cancel()
			return <-done
		}}
		if err := e.waitReady(ctx, t.addr, nil); err != nil {
			_ = t.stop()
			return nil, err
		}
		return t, nil
	}
	c, err := benchproc.Start(dir, nil, bin, "run", "--config", cfg, "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	t := &target{addr: listen, pid: c.Cmd.Process.Pid, stop: c.Stop}
	if err := e.waitReady(ctx, listen, c); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return t, nil
}

func (e *env) startNginx(ctx context.Context, bin string) (*target, error) {
	dir := filepath.Join(e.dir, "nginx")
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o777); err != nil {
		return nil, err
	}
	listen, err := benchproc.FreeAddr()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := writeFile(conf, nginxConfig(listen, e.live.Addr())); err != nil {
		return nil, err
	}
	c, err := benchproc.Start(dir, nil, bin, "-c", conf, "-p", dir+"/", "-e", filepath.Join(dir, "output.log"))
	if err != nil {
		return nil, err
	}
	t := &target{addr: listen, stop: c.Stop}
	if err := e.waitReady(ctx, listen, c); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return t, nil
}

// waitReady streams one answer through addr until it succeeds, for at
// most 15 seconds.
func (e *env) waitReady(ctx context.Context, addr string, c *benchproc.Child) error {
	hc := NewHTTPClient(1)
	defer hc.CloseIdleConnections()
	cl := NewClient(hc, "http://"+addr+ChatPath, requestBody)
	deadline := time.Now().Add(15 * time.Second)
	var s Stream
	var last error
	for time.Now().Before(deadline) {
		if c != nil && c.Exited() {
			return fmt.Errorf("exited: %s", c.LogTail())
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second+time.Duration(e.opts.Tokens)*e.opts.Interval)
		last = cl.Do(rctx, &s, nil)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	msg := fmt.Sprintf("not streaming at %s after 15s (%v)", addr, last)
	if c != nil {
		msg += ": " + c.LogTail()
	}
	return errors.New(msg)
}

// gitCommit is the working directory's commit, or "".
func gitCommit() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
