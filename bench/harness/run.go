package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/driftcar/driftcar/bench/loadgen"
	"github.com/driftcar/driftcar/bench/modelstub"
)

// Modes of running driftcar.
const (
	ModeChild     = "child"     // a driftcar process per scenario
	ModeInProcess = "inprocess" // inside the harness process
)

// Options configure Run. DefaultOptions fills them; Run validates them.
type Options struct {
	// Short is the quick run of `make bench`; it only changes the
	// defaults that DefaultOptions returns, and the report says so.
	Short bool
	// Mode is ModeChild (default) or ModeInProcess.
	Mode string
	// DriftcarBin is the driftcar binary of ModeChild. Default: built with
	// go build ./cmd/driftcar into a temp dir.
	DriftcarBin string
	// Scenarios to run, by name. Default: all (Scenarios()).
	Scenarios []string
	// Rates are the open-loop rates of the latency-vs-rate sweep, in
	// requests per second.
	Rates []float64
	// TableRate is the open-loop rate of the summary table; it is added to
	// Rates if missing.
	TableRate float64
	// Duration of each measured run.
	Duration time.Duration
	// Warmup is a closed-loop run per scenario before measuring.
	Warmup time.Duration
	// Rounds of every measurement, interleaved: A B C ... A B C.
	Rounds int
	// Conns is the closed-loop concurrency (wrk -c).
	Conns int
	// MaxInFlight caps the open-loop generator's requests in flight.
	MaxInFlight int
	// Timeout bounds one request.
	Timeout time.Duration
	// Protocol is the payload: modelstub.V1 (KServe v1) or V2.
	Protocol modelstub.Protocol
	// LiveDelay is how long the live (and canary) model takes to answer.
	LiveDelay time.Duration
	// ErrorRate is the fraction of live answers that are 500s.
	ErrorRate float64
	// ShadowDelay is how long the slow shadow takes to answer.
	ShadowDelay time.Duration
	// Settle is the pause between two runs, to let queues drain.
	Settle time.Duration
	// GOMAXPROCS, when positive, is set in the environment of the
	// driftcar child processes.
	GOMAXPROCS int
	// Profile saves a CPU profile of every driftcar scenario during its
	// last closed-loop run into OutDir (ModeChild only).
	Profile bool
	// OutDir receives the results files; "" writes none.
	OutDir string
	// PlotFormat is svg (default) or png.
	PlotFormat string
	// Command is the command line recorded in the report.
	Command string
	// Progress, when set, receives a progress line (a live one on a
	// terminal) while the benchmark runs.
	Progress io.Writer
}

// DefaultOptions returns the settings of the full sweep (`make
// bench-full`), or of the short run (`make bench`, under 3 minutes).
func DefaultOptions(short bool) Options {
	o := Options{
		Short:       short,
		Mode:        ModeChild,
		Scenarios:   scenarioNames(),
		Rates:       []float64{1000, 2500, 5000, 10000, 15000, 20000, 25000, 30000},
		TableRate:   5000,
		Duration:    5 * time.Second,
		Warmup:      time.Second,
		Rounds:      3,
		Conns:       32,
		MaxInFlight: loadgen.DefaultMaxInFlight,
		Timeout:     5 * time.Second,
		Protocol:    modelstub.V1,
		ShadowDelay: 200 * time.Millisecond,
		Settle:      200 * time.Millisecond,
		OutDir:      filepath.Join("bench", "results"),
		PlotFormat:  "svg",
		Command:     "driftcar-bench proxy",
	}
	if short {
		o.Rates = []float64{5000, 15000}
		o.Duration = 1500 * time.Millisecond
		o.Warmup = 500 * time.Millisecond
		o.Settle = 100 * time.Millisecond
		o.Rounds = 2
		o.Command = "driftcar-bench proxy --short"
	}
	return o
}

func scenarioNames() []string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.Name
	}
	return names
}

func (o *Options) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.Mode != ModeChild && o.Mode != ModeInProcess {
		bad("mode must be %s or %s, got %q", ModeChild, ModeInProcess, o.Mode)
	}
	if len(o.Scenarios) == 0 {
		bad("no scenarios")
	}
	for _, n := range o.Scenarios {
		if _, ok := scenarioInfo(n); !ok {
			bad("unknown scenario %q (known: %s)", n, strings.Join(scenarioNames(), ", "))
		}
	}
	if !(o.TableRate > 0) {
		bad("table rate must be positive")
	}
	for _, r := range o.Rates {
		if !(r > 0) || math.IsInf(r, 0) {
			bad("rates must be positive, got %g", r)
		}
	}
	if o.Duration <= 0 || o.Warmup < 0 || o.Settle < 0 || o.Timeout <= 0 {
		bad("duration and timeout must be positive, warmup and settle not negative")
	}
	if o.GOMAXPROCS < 0 {
		bad("gomaxprocs must not be negative")
	}
	if o.Rounds < 1 || o.Conns < 1 || o.MaxInFlight < 1 {
		bad("rounds, conns and max in-flight must be at least 1")
	}
	if o.Protocol != modelstub.V1 && o.Protocol != modelstub.V2 {
		bad("protocol must be v1 or v2")
	}
	if o.ErrorRate < 0 || o.ErrorRate > 1 {
		bad("error rate must be within [0,1]")
	}
	if o.PlotFormat != "svg" && o.PlotFormat != "png" {
		bad("plot format must be svg or png")
	}
	return errors.Join(errs...)
}

// run is one measured run.
type run struct {
	scenario string
	mode     loadgen.Mode
	rate     float64 // offered, open loop
	round    int
	res      *loadgen.Result
	proxyCPU float64 // seconds; NaN when not measurable
	selfCPU  float64 // seconds of the harness process
	taps     map[string]float64
}

// Run runs the benchmark and returns its report; it writes no files (see
// Report.Write). It stops early, returning ctx's error, when ctx ends.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if !slices.Contains(opts.Rates, opts.TableRate) {
		opts.Rates = append(slices.Clone(opts.Rates), opts.TableRate)
	}
	slices.Sort(opts.Rates)
	opts.Rates = slices.Compact(opts.Rates)
	if err := opts.validate(); err != nil {
		return nil, err
	}
	started := time.Now()
	prog := newProgress(opts.Progress)
	defer prog.close()
	e, err := setup(ctx, opts, prog.logf)
	if err != nil {
		return nil, err
	}
	defer e.close()

	r := &runner{opts: opts, env: e, prog: prog}
	runs, err := r.all(ctx)
	if err != nil {
		return nil, err
	}
	rss := map[string]float64{}
	for _, t := range e.targets {
		if t.pid != 0 {
			if b, err := treePeakRSS(t.pid); err == nil {
				rss[t.info.Name] = float64(b) / (1 << 20)
			}
		}
	}
	prog.done()
	rep := buildReport(opts, e, runs, rss)
	rep.Started, rep.Finished = started.UTC(), time.Now().UTC()
	rep.Machine = machine(e.nginxVer)
	rep.Notes = append(rep.Notes, r.notes...)
	if o := opts; o.Profile && (o.Mode != ModeChild || o.OutDir == "") {
		rep.Notes = append(rep.Notes, "--profile needs --mode child and an --out directory; no profiles were taken")
	}
	return rep, nil
}

type runner struct {
	opts  Options
	env   *env
	prog  *progress
	notes []string
}

func (r *runner) all(ctx context.Context) ([]*run, error) {
	o, targets := r.opts, r.env.targets
	n := len(targets)
	r.prog.plan(n*(1+o.Rounds*(1+len(o.Rates))),
		time.Duration(n)*(o.Warmup+time.Duration(o.Rounds)*(o.Duration+o.Settle)*time.Duration(1+len(o.Rates))))

	for _, t := range targets {
		if o.Warmup <= 0 {
			r.prog.skip(0)
			continue
		}
		live := r.prog.step("warm-up "+t.info.Name, o.Warmup)
		if _, err := loadgen.ClosedLoop(ctx, t.req, loadgen.ClosedOptions{Conns: o.Conns, Duration: o.Warmup, Live: live}); err != nil {
			return nil, err
		}
	}
	if err := r.waitCalibrated(ctx); err != nil {
		return nil, err
	}
	var runs []*run
	maxRate := map[string]float64{}
	for round := 1; round <= o.Rounds; round++ {
		for _, t := range targets {
			label := fmt.Sprintf("max throughput, round %d/%d: %s", round, o.Rounds, t.info.Name)
			x, err := r.measure(ctx, t, label, loadgen.Closed, 0, round)
			if err != nil {
				return nil, err
			}
			runs = append(runs, x)
			maxRate[t.info.Name] = max(maxRate[t.info.Name], x.res.Achieved())
		}
	}
	for round := 1; round <= o.Rounds; round++ {
		for _, rate := range o.Rates {
			for _, t := range targets {
				// Above its best closed-loop rate a scenario cannot keep up:
				// its queue would only grow for the whole run.
				if m := maxRate[t.info.Name]; rate > m {
					r.prog.skip(o.Duration + o.Settle)
					continue
				}
				label := fmt.Sprintf("%g/s, round %d/%d: %s", rate, round, o.Rounds, t.info.Name)
				x, err := r.measure(ctx, t, label, loadgen.Open, rate, round)
				if err != nil {
					return nil, err
				}
				runs = append(runs, x)
			}
		}
	}
	return runs, nil
}

// waitCalibrated waits until every sampling driftcar has finished its
// first drift evaluation. That one calibrates the drift thresholds by
// simulation, seconds of CPU once per process, which would otherwise land
// in whatever run is measured at the time.
func (r *runner) waitCalibrated(ctx context.Context) error {
	for _, t := range r.env.targets {
		if t.info.Name != DriftcarSample && t.info.Name != DriftcarAll {
			continue
		}
		r.prog.logf("waiting for the first drift evaluation (threshold calibration) of %s", t.info.Name)
		deadline := time.Now().Add(2 * time.Minute)
		for {
			taps, err := scrapeTaps(ctx, t.admin)
			if err == nil && taps["driftcar_drift_evaluations_total"] > 0 {
				break
			}
			if time.Now().After(deadline) {
				r.notes = append(r.notes, fmt.Sprintf("%s: no drift evaluation within 2 minutes of the start; "+
					"the threshold calibration may have run during a measurement", t.info.Name))
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// measure runs one load and reads what it cost.
func (r *runner) measure(ctx context.Context, t *target, label string, mode loadgen.Mode, rate float64, round int) (*run, error) {
	o := r.opts
	if o.Settle > 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(o.Settle):
		}
	}
	x := &run{scenario: t.info.Name, mode: mode, rate: rate, round: round, proxyCPU: math.NaN()}
	var tapsBefore map[string]float64
	if t.admin != "" {
		tapsBefore, _ = scrapeTaps(ctx, t.admin)
	}
	var profile chan error
	if o.Profile && o.OutDir != "" && t.pid != 0 && t.info.Kind == KindDriftcar && mode == loadgen.Closed && round == o.Rounds {
		profile = make(chan error, 1)
		go func() { profile <- r.saveProfile(ctx, t) }()
	}
	cpu0, cpuErr := treeCPU(t.pid)
	self0 := selfCPU()
	live := r.prog.step(label, o.Duration)
	var err error
	if mode == loadgen.Closed {
		x.res, err = loadgen.ClosedLoop(ctx, t.req, loadgen.ClosedOptions{Conns: o.Conns, Duration: o.Duration, Live: live})
	} else {
		x.res, err = loadgen.OpenLoop(ctx, t.req, loadgen.OpenOptions{Rate: rate, Duration: o.Duration, MaxInFlight: o.MaxInFlight, Live: live})
	}
	if err != nil {
		return nil, err
	}
	x.selfCPU = selfCPU() - self0
	if cpu1, err := treeCPU(t.pid); t.pid != 0 && cpuErr == nil && err == nil {
		x.proxyCPU = cpu1 - cpu0
	}
	if tapsBefore != nil {
		if after, err := scrapeTaps(ctx, t.admin); err == nil {
			x.taps = map[string]float64{}
			for k, v := range after {
				if d := v - tapsBefore[k]; d != 0 {
					x.taps[k] = d
				}
			}
		}
	}
	if profile != nil {
		if err := <-profile; err != nil {
			r.notes = append(r.notes, fmt.Sprintf("profile of %s: %v", t.info.Name, err))
		}
	}
	return x, nil
}

// saveProfile fetches a CPU profile of a driftcar child over its admin
// server's /debug/pprof while the load runs.
func (r *runner) saveProfile(ctx context.Context, t *target) error {
	secs := max(1, int(r.opts.Duration/time.Second)-1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", t.admin, secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /debug/pprof/profile: %s", resp.Status)
	}
	if err := os.MkdirAll(r.opts.OutDir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(r.opts.OutDir, profileName(r.opts, t.info.Name))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	r.notes = append(r.notes, fmt.Sprintf("CPU profile of %s under closed-loop load: %s (go tool pprof -top %s)", t.info.Name, path, path))
	return nil
}

// profileName is the file of a scenario's CPU profile; *.prof files are
// not committed (.gitignore).
func profileName(o Options, scenario string) string {
	return fmt.Sprintf("%s-%s-%s.prof", time.Now().Format("2006-01-02"), hostname(), strings.NewReplacer("+", "-").Replace(scenario))
}

// tapMetrics are the driftcar counters a run records, summed over every
// label but model and route.
var tapMetrics = []string{
	"driftcar_requests_total",
	"driftcar_shadow_requests_total",
	"driftcar_shadow_comparisons_total",
	"driftcar_sampler_rows_total",
	"driftcar_sampler_dropped_total",
	"driftcar_sampler_invalid_total",
	"driftcar_drift_evaluations_total",
	"driftcar_upstream_errors_total",
	"driftcar_fallbacks_total",
	"driftcar_canary_rollback_total",
	"driftcar_ground_truth_predictions_total",
	"driftcar_ground_truth_dropped_total",
}

// scrapeTaps reads tapMetrics from a driftcar admin server.
func scrapeTaps(ctx context.Context, admin string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return parseTaps(resp.Body)
}

// parseTaps sums the tapMetrics samples of a Prometheus text exposition
// by metric name and labels other than model, route and method.
func parseTaps(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		var labels, value string
		if rest == "" {
			name, value, _ = strings.Cut(line, " ")
		} else {
			labels, value, _ = strings.Cut(rest, "} ")
		}
		if !slices.Contains(tapMetrics, name) {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(value + " 0")[0], 64)
		if err != nil {
			continue
		}
		var keep []string
		for l := range strings.SplitSeq(labels, ",") {
			k, _, _ := strings.Cut(l, "=")
			if l != "" && k != "model" && k != "route" && k != "method" {
				keep = append(keep, l)
			}
		}
		key := name
		if len(keep) > 0 {
			key += "{" + strings.Join(keep, ",") + "}"
		}
		out[key] += v
	}
	return out, sc.Err()
}
