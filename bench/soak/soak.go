package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/driftcar/driftcar/bench/loadgen"
	"github.com/driftcar/driftcar/internal/controlplane"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// Options configure a soak run.
type Options struct {
	// Binary is the driftcar executable to soak. Required.
	Binary string
	// Duration of the measured traffic. Default 10m.
	Duration time.Duration
	// Warmup is traffic before the measured Duration, with everything
	// on, so that pools, connections and the sketch ring reach their
	// steady size before the quarters are compared; the accounting covers
	// it too. Zero means none (the command's default is 1m).
	Warmup time.Duration
	// Rate is the offered rate in requests per second. Default 5000.
	Rate float64
	// Conns caps the client's connections and requests in flight, as the
	// callers of a sidecar do; a request waits for a free one (and that
	// wait counts in its latency). Default 256.
	Conns int
	// Interval between samples of the process. Default 2s.
	Interval time.Duration
	// ChangeEvery is the time between config changes, which alternate
	// between an xDS push and a base-file reload. Default 5s.
	ChangeEvery time.Duration
	// DriftPeriod is how long drift stays off, then on, in turn.
	// Default a quarter of the run, within [45s, 60s].
	DriftPeriod time.Duration
	// BurstPeriod is one cycle of the canary: healthy for the first half,
	// failing 30% of its requests for the second. Default 30s.
	BurstPeriod time.Duration
	// Seed seeds the data and the faults. Default 1.
	Seed uint64
	// LogSinkDead makes the prediction log's CloudEvents receiver never
	// answer, instead of refusing every fifth event.
	LogSinkDead bool
	// Dir keeps the configs, the reference and driftcar's log; default a
	// temporary directory, removed afterwards.
	Dir string
	// Progress receives a line every 10 seconds; nil prints nothing.
	Progress io.Writer
	// HeapProfiles saves driftcar's heap profile into Dir after each
	// quarter of the run, as heap-1.pb.gz ... heap-4.pb.gz.
	HeapProfiles bool
}

func (o *Options) fill() error {
	if o.Binary == "" {
		return errors.New("soak: Options.Binary is required")
	}
	if _, err := os.Stat(o.Binary); err != nil {
		return fmt.Errorf("soak: cannot use the driftcar binary: %w", err)
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Minute
	}
	if o.Rate <= 0 {
		o.Rate = 5000
	}
	if o.Warmup < 0 {
		return errors.New("soak: Options.Warmup must be >= 0")
	}
	if o.Conns <= 0 {
		o.Conns = 256
	}
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.ChangeEvery <= 0 {
		o.ChangeEvery = 5 * time.Second
	}
	if o.DriftPeriod <= 0 {
		// At least 45 s: the 30 s drift window must clear, and the state
		// return to ok, in each off-phase.
		o.DriftPeriod = max(45*time.Second, min(time.Minute, (o.Warmup+o.Duration)/4))
	}
	if o.BurstPeriod <= 0 {
		o.BurstPeriod = 30 * time.Second
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return nil
}

const (
	nodeID        = "soak"
	canaryErrors  = 0.3 // share of canary requests failing in a burst
	shadowTimeout = 500 * time.Millisecond
)

// soak is one run's moving parts.
type soak struct {
	opts     Options
	dir      string
	live     *model
	canary   *model
	shadow   *model
	hook     *webhook
	logs     *logReceiver
	cp       *controlplane.Server
	cpDone   chan error
	cpStop   context.CancelFunc
	proc     *driftcar
	traffic  *traffic
	bursting atomic.Bool
	changes  changeLog
	began    time.Time // when the traffic started
}

type changeLog struct{ pushes, reloads, failed int }

// Run runs one soak and returns its report; the error is for a run that
// could not be carried out, not for failed criteria (see Report.Pass).
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	s := &soak{opts: opts, dir: opts.Dir}
	if s.dir == "" {
		dir, err := os.MkdirTemp("", "driftcar-soak")
		if err != nil {
			return nil, fmt.Errorf("soak: %w", err)
		}
		defer func() { _ = os.RemoveAll(dir) }()
		s.dir = dir
	} else if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("soak: %w", err)
	}
	defer s.stopAll()
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	return s.run(ctx)
}

func (s *soak) path(name string) string { return filepath.Join(s.dir, name) }

// start builds the reference and starts the stubs, the control plane and
// driftcar, and waits until driftcar is ready.
func (s *soak) start(ctx context.Context) error {
	if err := writeReference(s.path("reference.json"), s.opts.Seed); err != nil {
		return err
	}
	var err error
	if s.live, err = startModel("live", s.opts.Seed, nil, 0); err != nil {
		return err
	}
	if s.canary, err = startModel("canary", s.opts.Seed+1, canaryFaults(s.bursting.Load, canaryErrors), 0); err != nil {
		return err
	}
	if s.shadow, err = startModel("shadow", s.opts.Seed+2, shadowFaults, 0.01); err != nil {
		return err
	}
	if s.logs, err = startLogReceiver(s.opts.LogSinkDead); err != nil {
		return err
	}
	if s.hook, err = startWebhook(); err != nil {
		return err
	}
	fleet := s.path("fleet")
	if err := os.MkdirAll(fleet, 0o755); err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	if err := os.WriteFile(filepath.Join(fleet, nodeID+".yaml"), []byte(s.fleetYAML(0)), 0o600); err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	if s.cp, err = controlplane.New(controlplane.Options{Listen: "127.0.0.1:0", Admin: "127.0.0.1:0", Dir: fleet, Logger: zap.NewNop()}); err != nil {
		return fmt.Errorf("soak: cannot start the control plane: %w", err)
	}
	cpCtx, stopCP := context.WithCancel(context.Background())
	s.cpDone = make(chan error, 1)
	go func() { s.cpDone <- s.cp.Serve(cpCtx) }()
	s.cpStop = stopCP
	if err := os.WriteFile(s.path("base.yaml"), []byte(s.baseYAML(0)), 0o600); err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	args := []string{"run", "--config", s.path("base.yaml"), "--xds", s.cp.Addr(), "--node-id", nodeID, "--node-cluster", nodeID}
	if s.opts.HeapProfiles {
		args = append(args, "--pprof")
	}
	if s.proc, err = startDriftcar(s.opts.Binary, s.path("driftcar.log"), args...); err != nil {
		return err
	}
	return s.proc.waitReady(ctx, 2*time.Minute)
}

func (s *soak) stopAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.proc != nil {
		s.proc.kill()
	}
	if s.cpStop != nil {
		s.cpStop()
		<-s.cpDone //nolint:errcheck // after a cancel, the control plane's error says only that it stopped
	}
	for _, m := range []*model{s.live, s.canary, s.shadow} {
		if m != nil {
			m.stop(ctx)
		}
	}
	if s.logs != nil {
		s.logs.stop(ctx)
	}
	if s.hook != nil {
		s.hook.stop(ctx)
	}
	if s.traffic != nil {
		s.traffic.hc.CloseIdleConnections()
	}
}

// run sends the traffic, changes the config, samples, then drains,
// reconciles and stops driftcar.
func (s *soak) run(ctx context.Context) (*Report, error) {
	o := s.opts
	s.traffic = newTraffic(s.proc.proxy, o.Seed+3, o.Conns)
	s.traffic.prewarm(o.Conns)
	rep := &Report{Options: o.public(), Started: time.Now().UTC()}
	live := &loadgen.Live{}
	type result struct {
		res *loadgen.Result
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	s.began = start
	go func() {
		res, err := loadgen.OpenLoop(ctx, s.traffic, loadgen.OpenOptions{Rate: o.Rate, Duration: o.Warmup + o.Duration, MaxInFlight: o.Conns, Live: live})
		done <- result{res, err}
	}()

	sampleT := time.NewTicker(o.Interval)
	defer sampleT.Stop()
	changeT := time.NewTicker(o.ChangeEvery)
	defer changeT.Stop()
	phaseT := time.NewTicker(100 * time.Millisecond)
	defer phaseT.Stop()
	lastProgress := time.Now()
	profiled := 0
	var r result
	changes := 0
loop:
	for {
		select {
		case r = <-done:
			break loop
		case now := <-phaseT.C:
			at := now.Sub(start)
			s.traffic.drifted.Store(at%(2*o.DriftPeriod) >= o.DriftPeriod)
			s.bursting.Store(at%o.BurstPeriod >= o.BurstPeriod/2)
		case <-changeT.C:
			changes++
			if err := s.change(changes); err != nil {
				s.changes.failed++
				rep.Notes = appendBounded(rep.Notes, fmt.Sprintf("config change %d: %v", changes, err))
			}
		case now := <-sampleT.C:
			smp, _, err := observe(ctx, s.proc.pid(), s.proc.admin, now.Sub(start), s.traffic, live.InFlight.Load())
			if err != nil {
				rep.Notes = appendBounded(rep.Notes, fmt.Sprintf("sample at %s: %v", now.Sub(start).Round(time.Second), err))
				continue
			}
			rep.Samples = append(rep.Samples, smp)
			if q := int(4 * (smp.At - o.Warmup) / o.Duration); o.HeapProfiles && q > profiled {
				profiled = q
				if err := s.saveHeap(ctx, q); err != nil {
					rep.Notes = appendBounded(rep.Notes, err.Error())
				}
			}
			if now.Sub(lastProgress) >= 10*time.Second {
				lastProgress = now
				fmt.Fprintf(o.Progress, "soak %s/%s (warm-up %s): %d sent, %d driftcar errors, %d injected upstream 5xx, RSS %.1f MiB, heap %.1f MiB, %d goroutines, %d fds, %d pushes, %d reloads\n",
					smp.At.Round(time.Second), o.Warmup+o.Duration, o.Warmup, live.Sent.Load(), smp.DriftcarErrors, smp.UpstreamFaults,
					float64(smp.RSS)/(1<<20), smp.Heap/(1<<20), int(smp.Goroutines), smp.FDs, s.changes.pushes, s.changes.reloads)
			}
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("soak: traffic stopped early: %w", r.err)
	}
	fmt.Fprintln(o.Progress, "soak: traffic done; waiting for the queues to drain ...")
	final, pending := s.drain(ctx, 30*time.Second)
	if pending != "" {
		rep.Notes = appendBounded(rep.Notes, pending)
	}
	drained := pending == ""
	if final == nil {
		return nil, errors.New("soak: cannot scrape driftcar after the traffic")
	}
	exit := s.proc.stop(30 * time.Second)
	rep.fill(s, r.res, final, drained, exit)
	return rep, nil
}

func (s *soak) saveHeap(ctx context.Context, n int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.proc.admin+"/debug/pprof/heap", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot fetch a heap profile: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	f, err := os.Create(s.path(fmt.Sprintf("heap-%d.pb.gz", n)))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// drain waits until driftcar's queues are empty and the shadow's pairs
// have settled, then returns a last scrape, and what was still pending
// if the limit passed first ("" once drained).
func (s *soak) drain(ctx context.Context, limit time.Duration) (metrics, string) {
	deadline := time.Now().Add(limit)
	var last metrics
	pendingText := "no scrape"
	for {
		m, err := scrape(ctx, s.proc.admin)
		if err == nil {
			last = m
			pending := map[string]float64{}
			for _, name := range []string{"driftcar_shadow_queue_length", "driftcar_shadow_inflight", "driftcar_sampler_queue_length", "driftcar_webhook_pending"} {
				if v := m.sum(name); v != 0 {
					pending[name] = v
				}
			}
			// The log's queues drain, but for a dead receiver's sink, whose
			// records still held are accounted as queued.
			sinks := []string{"_capture", "file", "events"}
			if s.opts.LogSinkDead {
				sinks = sinks[:2]
			}
			for _, sink := range sinks {
				if v := m.sum("driftcar_log_queue_records", "sink", sink); v != 0 {
					pending["driftcar_log_queue_records{sink="+sink+"}"] = v
				}
			}
			if len(pending) == 0 {
				// One more scrape after the pair timeout settles the
				// comparisons of the last answers.
				time.Sleep(shadowTimeout)
				if m, err := scrape(ctx, s.proc.admin); err == nil {
					return m, ""
				}
				return last, ""
			}
			pendingText = fmt.Sprint(pending)
		}
		if time.Now().After(deadline) {
			return last, fmt.Sprintf("still pending after %s: %s", limit, pendingText)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// change makes config change n: odd ones are pushed by the control
// plane, even ones are a base-file rewrite and SIGHUP. The fleet file
// holds the routing and what sampling and drift tests need; the base
// holds the webhook and the canary guard.
func (s *soak) change(n int) error {
	if n%2 == 1 {
		variant := (n/2 + 1) % 2 // 1, 0, 1, ...: the first push differs from the start
		s.changes.pushes++
		return os.WriteFile(filepath.Join(s.path("fleet"), nodeID+".yaml"), []byte(s.fleetYAML(variant)), 0o600)
	}
	variant := (n / 2) % 2 // 1, 0, 1, ...
	s.changes.reloads++
	if err := os.WriteFile(s.path("base.yaml"), []byte(s.baseYAML(variant)), 0o600); err != nil {
		return err
	}
	return s.proc.cmd.Process.Signal(syscall.SIGHUP)
}

func (s *soak) fleetYAML(variant int) string {
	canary, fraction := 10, 1.0
	if variant == 1 {
		canary, fraction = 20, 0.5
	}
	return fmt.Sprintf(`# driftcar-bench soak: routing pushed over xDS (variant %d)
upstreams:
  live:   { address: %s }
  canary: { address: %s }
  shadow: { address: %s, timeout: %s, max_conns: 64 }
routes:
  - name: predict
    match: { path_prefix: /v1/models/soak }
    protocol: kserve-v1
    split:
      - { upstream: live,   weight: %d }
      - { upstream: canary, weight: %d }
    sticky: { header: x-user-id }
    shadow: { upstream: shadow, fraction: %g }
    sample: { fraction: 1 }
features:
  - { name: f1,  type: numeric }
  - { name: f2,  type: numeric }
  - { name: cat, type: categorical }
prediction: { name: score, type: numeric }
reference: { file: %s }
sketch: { slices: 8, slice_duration: 5s }
drift: { windows: [30s], evaluate_every: 1s, min_samples: 200 }
`, variant, s.live.addr(), s.canary.addr(), s.shadow.addr(), shadowTimeout, 100-canary, canary, fraction, s.path("reference.json"))
}

func (s *soak) baseYAML(variant int) string {
	timeout, increase := "1s", 0.02
	if variant == 1 {
		timeout, increase = "2s", 0.03
	}
	return fmt.Sprintf(`# driftcar-bench soak: the base file, reloaded with SIGHUP (variant %d)
listen: 127.0.0.1:0
admin: 127.0.0.1:0
model: soak
drift:
  webhook: { url: %s, cooldown: 20s, timeout: %s, retries: 2 }
canary_guard: { rollback: true, min_requests: 200, window: 20s, max_error_rate_increase: %g }
log:
  sinks:
    - { name: file, type: file, path: %s }
    - { name: events, type: cloudevents, url: "%s", events: combined, queue: 100, batch: 1, retries: 1, timeout: 1s }
`, variant, s.hook.url(), timeout, increase, yamlQuote(s.path("predictions.jsonl")), s.logs.url())
}

// writeReference builds the reference profile from 20,000 undrifted rows
// and the live model's scores on them.
func writeReference(path string, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 0x7ef))
	var b strings.Builder
	b.WriteString("f1,f2,cat,score\n")
	m := &model{}
	for range 20000 {
		x := genRow(r, false)
		fmt.Fprintf(&b, "%g,%g,%s,%g\n", x.f1, x.f2, x.cat, m.score(x.f1, x.f2))
	}
	specs := []payload.FeatureSpec{
		{Name: "f1", Type: payload.Numeric},
		{Name: "f2", Type: payload.Numeric},
		{Name: "cat", Type: payload.Categorical},
	}
	p, err := sketch.BuildReference(strings.NewReader(b.String()), sketch.CSV, specs, sketch.BuildOptions{
		Prediction: &payload.PredictionSpec{Name: "score", Type: payload.Numeric},
	})
	if err != nil {
		return fmt.Errorf("soak: cannot build the reference: %w", err)
	}
	return p.WriteFile(path)
}

func appendBounded(notes []string, note string) []string {
	const maxNotes = 50
	if len(notes) >= maxNotes {
		return notes
	}
	return append(notes, note)
}

// driftcar is the child process under test.
type driftcar struct {
	cmd        *exec.Cmd
	proxy      string
	admin      string
	exited     chan error
	logFile    *os.File
	mu         sync.Mutex
	messages   map[string]int         // log "msg" → count
	driftAt    map[string][]time.Time // feature → times it entered drift (bounded)
	panics     []string               // at most a few panic lines
	exitErr    error
	stopOnce   sync.Once
	serving    chan [2]string
	readerDone chan struct{}
}

func startDriftcar(binary, logPath string, args ...string) (*driftcar, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("soak: %w", err)
	}
	d := &driftcar{cmd: exec.Command(binary, args...), logFile: f, messages: map[string]int{}, driftAt: map[string][]time.Time{},
		exited: make(chan error, 1), serving: make(chan [2]string, 1), readerDone: make(chan struct{})}
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("soak: %w", err)
	}
	if err := d.cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("soak: cannot start driftcar: %w", err)
	}
	go d.read(stderr)
	return d, nil
}

func (d *driftcar) pid() int { return d.cmd.Process.Pid }

// read keeps the log, counts its messages and watches for panics.
func (d *driftcar) read(stderr io.Reader) {
	defer close(d.readerDone)
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = d.logFile.Write(append(line, '\n'))
		var rec struct {
			Level, Msg, Listen, Admin, Feature, To string
			TS                                     float64
		}
		isJSON := json.Unmarshal(line, &rec) == nil
		d.mu.Lock()
		if isJSON {
			d.messages[rec.Msg]++
			if rec.Msg == "drift state changed" && rec.To == "drift" && len(d.driftAt[rec.Feature]) < 10000 {
				d.driftAt[rec.Feature] = append(d.driftAt[rec.Feature], time.Unix(0, int64(rec.TS*1e9)))
			}
		}
		if (!isJSON && (strings.HasPrefix(string(line), "panic:") || strings.HasPrefix(string(line), "fatal error:"))) ||
			rec.Level == "dpanic" || rec.Level == "panic" || rec.Level == "fatal" || strings.Contains(rec.Msg, "panic") {
			if len(d.panics) < 5 {
				d.panics = append(d.panics, string(line))
			} else {
				d.panics[len(d.panics)-1] = "(more)"
			}
		}
		d.mu.Unlock()
		if rec.Msg == "serving" {
			select {
			case d.serving <- [2]string{rec.Listen, rec.Admin}:
			default:
			}
		}
	}
	d.exited <- d.cmd.Wait()
}

func (d *driftcar) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.After(limit)
	select {
	case a := <-d.serving:
		d.proxy, d.admin = a[0], a[1]
	case err := <-d.exited:
		d.exited <- err
		return fmt.Errorf("soak: driftcar exited before serving (%w); see %s", err, d.logFile.Name())
	case <-deadline:
		return fmt.Errorf("soak: driftcar did not serve within %s; see %s", limit, d.logFile.Name())
	case <-ctx.Done():
		return ctx.Err()
	}
	for {
		resp, err := http.Get("http://" + d.admin + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-deadline:
			return fmt.Errorf("soak: driftcar not ready within %s; see %s", limit, d.logFile.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM and waits for the exit; it returns the exit error
// (nil for status 0).
func (d *driftcar) stop(limit time.Duration) error {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("cannot signal driftcar: %w", err)
	}
	select {
	case err := <-d.exited:
		d.exitErr = err
		d.exited <- err
		return err
	case <-time.After(limit):
		return fmt.Errorf("driftcar did not exit within %s of SIGTERM", limit)
	}
}

func (d *driftcar) kill() {
	d.stopOnce.Do(func() {
		_ = d.cmd.Process.Kill()
		<-d.readerDone
		_ = d.logFile.Close()
	})
}

func (d *driftcar) counts() (map[string]int, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	msgs := make(map[string]int, len(d.messages))
	for k, v := range d.messages {
		msgs[k] = v
	}
	return msgs, append([]string(nil), d.panics...)
}

// driftEntries returns when each feature entered drift.
func (d *driftcar) driftEntries() map[string][]time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string][]time.Time, len(d.driftAt))
	for k, v := range d.driftAt {
		out[k] = append([]time.Time(nil), v...)
	}
	return out
}

func yamlQuote(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }
