package grpcbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/driftcar/driftcar/bench/benchproc"
	"github.com/driftcar/driftcar/bench/loadgen"
)

// Path names.
const (
	Direct         = "direct"
	Driftcar       = "driftcar"
	DriftcarShadow = "driftcar+shadow"
	Nginx          = "nginx"
)

// shadowDelay is how long the shadow stub takes to answer.
const shadowDelay = 200 * time.Millisecond

// clientConns is how many HTTP/2 connections the client spreads its calls
// over, on every path alike.
const clientConns = 4

// Options configure a run.
type Options struct {
	Short bool
	// Conns are the levels of calls kept in flight.
	Conns []int
	// Duration is each measurement's length; Rounds repeats each level
	// in rotated path order and merges the rounds.
	Duration time.Duration
	Rounds   int
	Settle   time.Duration
	// DriftcarBin is the driftcar binary; "" builds ./cmd/driftcar.
	DriftcarBin string
	// OutDir receives the results; "" writes none.
	OutDir   string
	Command  string
	Progress io.Writer
}

// DefaultOptions are the settings of `driftcar-bench grpc`, or with short
// of its --short run.
func DefaultOptions(short bool) Options {
	o := Options{Conns: []int{1, 32, 256}, Duration: 5 * time.Second, Rounds: 3, Settle: 500 * time.Millisecond,
		OutDir: filepath.Join("bench", "results"), Command: "driftcar-bench grpc"}
	if short {
		o.Short, o.Conns, o.Duration, o.Rounds, o.Settle = true, []int{32}, 2*time.Second, 2, 200*time.Millisecond
		o.Command = "driftcar-bench grpc --short"
	}
	return o
}

type target struct {
	name string
	addr string
	pid  int // driftcar's process, whose CPU is measured; 0 for the others
	stop func() error
}

// Run measures every path at every level.
func Run(ctx context.Context, o Options) (*Report, error) {
	log := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "grpc: "+format+"\n", args...)
		}
	}
	dir, err := os.MkdirTemp("", "driftcar-bench-grpc-")
	if err != nil {
		return nil, fmt.Errorf("cannot create a temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	stub, err := StartStub("127.0.0.1:0", 0)
	if err != nil {
		return nil, err
	}
	defer stub.Close()
	slow, err := StartStub("127.0.0.1:0", shadowDelay)
	if err != nil {
		return nil, err
	}
	defer slow.Close()
	rep := newReport(o)
	targets := []*target{{name: Direct, addr: stub.Addr()}}
	defer func() {
		for _, t := range targets {
			if t.stop != nil {
				if err := t.stop(); err != nil {
					log("stopping %s: %v", t.name, err)
				}
			}
		}
	}()

	bin, err := findDriftcar(ctx, o.DriftcarBin, dir, log)
	if err != nil {
		return nil, err
	}
	log("starting driftcar")
	t, err := startDriftcar(ctx, dir, bin, stub.Addr(), "")
	if err != nil {
		return nil, fmt.Errorf("cannot start driftcar: %w", err)
	}
	targets = append(targets, t)
	log("starting driftcar with a %v shadow", shadowDelay)
	if t, err = startDriftcar(ctx, dir, bin, stub.Addr(), slow.Addr()); err != nil {
		return nil, fmt.Errorf("cannot start driftcar with a shadow: %w", err)
	}
	targets = append(targets, t)

	if nginxBin, version := benchproc.FindNginx(); nginxBin == "" {
		rep.Skipped = append(rep.Skipped, Skip{Path: Nginx, Why: "nginx is not installed (apt-get install nginx)"})
	} else {
		rep.Machine.Nginx = version
		log("starting nginx")
		if t, err := startNginx(ctx, dir, nginxBin, stub.Addr()); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, err
			}
			rep.Skipped = append(rep.Skipped, Skip{Path: Nginx, Why: err.Error()})
		} else {
			targets = append(targets, t)
		}
	}

	req := modelInferRequest()
	for _, n := range o.Conns {
		results, cpu, err := rounds(ctx, o, len(targets), func(i, round int) (*loadgen.Result, float64, error) {
			log("%s at %d in flight (round %d of %d)", targets[i].name, n, round+1, o.Rounds)
			res, used, err := measure(ctx, targets[i].addr, targets[i].pid, req, n, o.Duration)
			if err != nil {
				return nil, 0, fmt.Errorf("%s: %w", targets[i].name, err)
			}
			return res, used, nil
		})
		if err != nil {
			return nil, err
		}
		for i, t := range targets {
			c := newCell(t.name, n, results[i])
			if t.pid != 0 {
				c.CPUPerCall = cpuPerCall(cpu[i], results[i].OK)
			}
			rep.Cells = append(rep.Cells, c)
		}
		loads, err := equalLoad(ctx, o, rep, targets, n, req, log)
		if err != nil {
			return nil, err
		}
		rep.Loads = append(rep.Loads, loads...)
	}
	rep.Finished = time.Now().UTC()
	rep.derive()
	return rep, nil
}

// equalShare is the share of the slower driftcar's closed-loop
// throughput that equalLoad offers both, below either one's limit.
const equalShare = 0.7

// equalLoad offers driftcar and driftcar+shadow the same calls a second,
// derived from level n's closed loop, and measures their CPU per call:
// driftcar's CPU per call falls as its load rises (more calls per read
// and write), so only at equal load does the ratio count the shadow's
// work alone.
func equalLoad(ctx context.Context, o Options, rep *Report, targets []*target, n int, req []byte, log func(string, ...any)) ([]Load, error) {
	var pair []*target
	rate := math.Inf(1)
	for _, t := range targets {
		if t.name != Driftcar && t.name != DriftcarShadow {
			continue
		}
		for _, c := range rep.Cells {
			if c.Path == t.name && c.InFlight == n {
				pair, rate = append(pair, t), min(rate, c.Throughput)
			}
		}
	}
	if len(pair) != 2 || rate < 1 {
		return nil, nil
	}
	rate = math.Round(rate * equalShare)
	loads := make([]Load, len(pair))
	results, cpu, err := rounds(ctx, o, len(pair), func(i, round int) (*loadgen.Result, float64, error) {
		log("%s at %.0f calls/s, open loop, from %d in flight (round %d of %d)", pair[i].name, rate, n, round+1, o.Rounds)
		res, used, err := measureRate(ctx, pair[i].addr, pair[i].pid, req, rate, o.Duration)
		if err != nil {
			return nil, 0, fmt.Errorf("%s at %.0f calls/s: %w", pair[i].name, rate, err)
		}
		if res.OK == 0 {
			return nil, 0, fmt.Errorf("%s at %.0f calls/s: no call answered", pair[i].name, rate)
		}
		loads[i].Rounds = append(loads[i].Rounds, cpuPerCall(used, res.OK))
		return res, used, nil
	})
	if err != nil {
		return nil, err
	}
	for i, t := range pair {
		r := results[i]
		loads[i].Path, loads[i].InFlight, loads[i].Offered, loads[i].Failed = t.name, n, rate, r.Failed()
		if r.Elapsed > 0 {
			loads[i].Achieved = float64(r.OK) / r.Elapsed.Seconds()
		}
		loads[i].CPUPerCall = cpuPerCall(cpu[i], r.OK)
	}
	return loads, nil
}

// rounds measures each of n paths o.Rounds times, in an order rotated
// each round, settling between measurements. It returns each path's
// merged results and CPU seconds.
func rounds(ctx context.Context, o Options, n int, measure func(i, round int) (*loadgen.Result, float64, error)) ([]*loadgen.Result, []float64, error) {
	results := make([]*loadgen.Result, n)
	cpu := make([]float64, n)
	for round := range o.Rounds {
		for k := range n {
			i := (k + round) % n
			res, used, err := measure(i, round)
			if err != nil {
				return nil, nil, err
			}
			cpu[i] += used
			if results[i] == nil {
				results[i] = res
			} else {
				merge(results[i], res)
			}
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(o.Settle):
			}
		}
	}
	return results, cpu, nil
}

// cpuPerCall is seconds of CPU over ok calls, in µs; 0 without calls.
func cpuPerCall(seconds float64, ok int64) float64 {
	if ok == 0 {
		return 0
	}
	return seconds / float64(ok) * 1e6
}

// merge adds o's counts and latencies to r.
func merge(r, o *loadgen.Result) {
	r.Elapsed += o.Elapsed
	r.Sent += o.Sent
	r.Responses += o.Responses
	r.OK += o.OK
	r.Errors += o.Errors
	r.Latency.Merge(o.Latency)
}

// dial opens clientConns connections to addr.
func dial(addr string) ([]*grpc.ClientConn, error) {
	var ccs []*grpc.ClientConn
	for range clientConns {
		cc, err := grpc.NewClient("passthrough:///"+addr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodec(codec{})))
		if err != nil {
			for _, c := range ccs {
				_ = c.Close()
			}
			return nil, fmt.Errorf("cannot dial %s: %w", addr, err)
		}
		ccs = append(ccs, cc)
	}
	return ccs, nil
}

// measure warms up, then keeps n calls in flight for d; with a pid it
// also returns that process's CPU seconds over the measurement.
func measure(ctx context.Context, addr string, pid int, req []byte, n int, d time.Duration) (*loadgen.Result, float64, error) {
	return measured(ctx, addr, pid, req, func(do loadgen.Requester, d time.Duration) (*loadgen.Result, error) {
		return loadgen.ClosedLoop(ctx, do, loadgen.ClosedOptions{Conns: n, Duration: d})
	}, d)
}

// measureRate is measure with calls sent at rate a second, whatever the
// answers' pace (open loop).
func measureRate(ctx context.Context, addr string, pid int, req []byte, rate float64, d time.Duration) (*loadgen.Result, float64, error) {
	return measured(ctx, addr, pid, req, func(do loadgen.Requester, d time.Duration) (*loadgen.Result, error) {
		return loadgen.OpenLoop(ctx, do, loadgen.OpenOptions{Rate: rate, Duration: d})
	}, d)
}

// measured runs load for a fifth of d (at most a second) to warm up, then
// for d, calling ModelInfer on addr with req.
func measured(ctx context.Context, addr string, pid int, req []byte, load func(loadgen.Requester, time.Duration) (*loadgen.Result, error), d time.Duration) (*loadgen.Result, float64, error) {
	ccs, err := dial(addr)
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		for _, c := range ccs {
			_ = c.Close()
		}
	}()
	var next atomic.Uint64
	do := loadgen.RequesterFunc(func() (int, error) {
		cc := ccs[next.Add(1)%uint64(len(ccs))]
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var out frame
		if err := cc.Invoke(cctx, Method, &frame{b: req}, &out); err != nil {
			return 0, err
		}
		return 200, nil
	})
	if _, err := load(do, min(d/5, time.Second)); err != nil {
		return nil, 0, err
	}
	before := cpuOf(pid)
	res, err := load(do, d)
	return res, cpuOf(pid) - before, err
}

// cpuOf is pid's CPU seconds, 0 for pid 0 or when /proc cannot tell.
func cpuOf(pid int) float64 {
	if pid == 0 {
		return 0
	}
	s, err := benchproc.CPUSeconds(pid)
	if err != nil {
		return 0
	}
	return s
}

// waitReady calls ModelInfer through addr until it succeeds, for at most
// 15 seconds.
func waitReady(ctx context.Context, addr string, c *benchproc.Child) error {
	ccs, err := dial(addr)
	if err != nil {
		return err
	}
	defer func() {
		for _, c := range ccs {
			_ = c.Close()
		}
	}()
	deadline := time.Now().Add(15 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		if c != nil && c.Exited() {
			return fmt.Errorf("exited: %s", c.LogTail())
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		var out frame
		last = ccs[0].Invoke(cctx, Method, &frame{b: modelInferRequest()}, &out)
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
	msg := fmt.Sprintf("no ModelInfer answer at %s after 15s (%v)", addr, last)
	if c != nil {
		msg += ": " + c.LogTail()
	}
	return errors.New(msg)
}

// startDriftcar starts driftcar relaying to live, mirroring every call to
// shadow unless it is "".
func startDriftcar(ctx context.Context, root, bin, live, shadow string) (*target, error) {
	name := Driftcar
	if shadow != "" {
		name = DriftcarShadow
	}
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var addrs [3]string
	for i := range addrs {
		var err error
		if addrs[i], err = benchproc.FreeAddr(); err != nil {
			return nil, err
		}
	}
	cfg := filepath.Join(dir, "driftcar.yaml")
	if err := os.WriteFile(cfg, []byte(driftcarConfig(addrs[0], addrs[1], addrs[2], live, shadow)), 0o644); err != nil {
		return nil, err
	}
	c, err := benchproc.Start(dir, nil, bin, "run", "--config", cfg, "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, addrs[2], c); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return &target{name: name, addr: addrs[2], pid: c.Cmd.Process.Pid, stop: c.Stop}, nil
}

// driftcarConfig is one open-inference-v2 route over gRPC to live, with
// every call mirrored to shadow unless it is "".
func driftcarConfig(listen, admin, grpcListen, live, shadow string) string {
	c := fmt.Sprintf(`listen: %s
admin: %s
grpc_listen: %s
model: bench
upstreams:
  live: { address: %s, grpc_address: %s }
`, listen, admin, grpcListen, live, live)
	if shadow != "" {
		c += fmt.Sprintf("  shadow: { address: %s, grpc_address: %s, timeout: 5s, max_conns: 256 }\n", shadow, shadow)
	}
	c += `routes:
  - name: infer
    protocol: open-inference-v2
    match: { path_prefix: /inference.GRPCInferenceService/ }
    split: [{ upstream: live, weight: 1 }]
`
	if shadow != "" {
		c += "    shadow: { upstream: shadow, fraction: 1 }\n"
	}
	return c
}

func startNginx(ctx context.Context, root, bin, live string) (*target, error) {
	dir := filepath.Join(root, "nginx")
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o777); err != nil {
		return nil, err
	}
	listen, err := benchproc.FreeAddr()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConfig(listen, live)), 0o644); err != nil {
		return nil, err
	}
	c, err := benchproc.Start(dir, nil, bin, "-c", conf, "-p", dir+"/", "-e", filepath.Join(dir, "output.log"))
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, listen, c); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return &target{name: Nginx, addr: listen, stop: c.Stop}, nil
}

// nginxConfig is a one-worker nginx relaying gRPC to live over a
// keep-alive HTTP/2 upstream.
func nginxConfig(listen, live string) string {
	return fmt.Sprintf(`# Generated by driftcar-bench grpc.
worker_processes 1;
daemon off;
pid nginx.pid;
error_log output.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path tmp/body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
  upstream live { server %s; keepalive 64; }
  server {
    listen %s http2;
    http2_max_concurrent_streams 1024;
    location / {
      grpc_pass grpc://live;
      grpc_read_timeout 1m;
    }
  }
}
`, live, listen)
}

// findDriftcar is bin, or a build of ./cmd/driftcar into dir.
func findDriftcar(ctx context.Context, bin, dir string, log func(string, ...any)) (string, error) {
	if bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("cannot use --driftcar-bin: %w", err)
		}
		return filepath.Abs(bin)
	}
	root, err := benchproc.ModuleRoot()
	if err == nil {
		log("building driftcar (go build ./cmd/driftcar)")
		out := filepath.Join(dir, "bin", "driftcar")
		if err = benchproc.GoBuild(ctx, root, out, "./cmd/driftcar"); err == nil {
			return out, nil
		}
	}
	return "", fmt.Errorf("cannot build driftcar (%w); pass --driftcar-bin", err)
}

// gitCommit is the working directory's commit, or "".
func gitCommit() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
