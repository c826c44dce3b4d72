package harness

import (
	"context"
	_ "embed" // the httputil peer's source
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/driftcar/driftcar/bench/benchproc"
	"github.com/driftcar/driftcar/bench/loadgen"
	"github.com/driftcar/driftcar/bench/modelstub"
	"github.com/driftcar/driftcar/internal/sidecar"
)

//go:embed peers/httputil/main.go
var httputilSource []byte

// target is one scenario's endpoint and the process that serves it.
type target struct {
	info  ScenarioInfo
	addr  string // where the load goes
	pid   int    // the proxy process (its children count too); 0: none, or in-process
	inner bool   // driftcar runs inside the harness process
	admin string // driftcar's admin address
	req   *loadgen.HTTP
	stop  func() error
}

// env is everything a run starts: model stubs, proxies, their files.
type env struct {
	opts        Options
	dir         string
	stubs       []*modelstub.Server
	up          upstreamAddrs
	targets     []*target
	skipped     map[string]string // scenario → why
	notes       []string
	driftcarBin string
	nginxVer    string
	log         func(format string, args ...any)

	silent net.Listener // the dead sink that never answers
	heldMu sync.Mutex
	held   []net.Conn
}

// setup starts the stubs and every selected scenario's proxy. A peer
// that is not installed or does not start is skipped with a note; a
// driftcar scenario that does not start is an error.
func setup(ctx context.Context, opts Options, log func(string, ...any)) (_ *env, err error) {
	e := &env{opts: opts, skipped: map[string]string{}, log: log}
	if e.dir, err = os.MkdirTemp("", "driftcar-bench-"); err != nil {
		return nil, fmt.Errorf("cannot create a temp dir: %w", err)
	}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if err := e.startStubs(); err != nil {
		return nil, err
	}
	selected := map[string]bool{}
	for _, n := range opts.Scenarios {
		selected[n] = true
	}
	var needNginx, needDriftcar, needSample bool
	for _, s := range scenarios {
		if !selected[s.Name] {
			continue
		}
		switch {
		case strings.HasPrefix(s.Name, "nginx"):
			needNginx = true
		case s.Kind == KindDriftcar:
			needDriftcar = true
			needSample = needSample || s.Name == DriftcarSample || s.Name == DriftcarAll
		}
	}
	if needSample {
		if err := writeReference(filepath.Join(e.dir, "reference.json"), opts.Protocol); err != nil {
			return nil, err
		}
	}
	if needDriftcar && opts.Mode == ModeChild {
		if err := e.findDriftcar(ctx); err != nil {
			return nil, err
		}
	}
	var nginxBin string
	if needNginx {
		nginxBin = e.findNginx()
	}
	for _, s := range scenarios {
		if !selected[s.Name] {
			continue
		}
		var t *target
		var err error
		switch {
		case s.Name == Direct:
			t = &target{addr: e.up.Live}
		case s.Kind == KindDriftcar:
			e.log("starting %s", s.Name)
			t, err = e.startDriftcar(ctx, s.Name)
			if err != nil {
				return nil, fmt.Errorf("cannot start %s: %w", s.Name, err)
			}
		case strings.HasPrefix(s.Name, "nginx"):
			if nginxBin == "" {
				e.skipped[s.Name] = "nginx is not installed (apt-get install nginx)"
				continue
			}
			e.log("starting %s", s.Name)
			t, err = e.startNginx(ctx, nginxBin, s.Name)
		case s.Name == HTTPUtil:
			e.log("building and starting %s", s.Name)
			t, err = e.startHTTPUtil(ctx)
		}
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, err
			}
			e.skipped[s.Name] = err.Error()
			continue
		}
		t.info = s
		t.req = loadgen.NewHTTP(loadgen.HTTPOptions{
			Addr:     t.addr,
			Path:     opts.Protocol.Path(),
			Body:     opts.Protocol.RequestBody(),
			Timeout:  opts.Timeout,
			MaxConns: max(opts.MaxInFlight, opts.Conns),
		})
		e.targets = append(e.targets, t)
	}
	return e, nil
}

func (e *env) startStubs() error {
	start := func(o modelstub.Options) (string, error) {
		s, err := modelstub.Start("127.0.0.1:0", o)
		if err != nil {
			return "", err
		}
		e.stubs = append(e.stubs, s)
		return s.Addr(), nil
	}
	live := modelstub.Options{Protocol: e.opts.Protocol, Delay: e.opts.LiveDelay, ErrorRate: e.opts.ErrorRate}
	var err error
	if e.up.Live, err = start(live); err != nil {
		return err
	}
	if e.up.Canary, err = start(live); err != nil {
		return err
	}
	if e.up.Shadow, err = start(modelstub.Options{Protocol: e.opts.Protocol}); err != nil {
		return err
	}
	if e.up.SlowShadow, err = start(modelstub.Options{Protocol: e.opts.Protocol, Delay: e.opts.ShadowDelay}); err != nil {
		return err
	}
	// The dead sinks: one address that accepts and never answers, one
	// that refuses.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	e.silent = silent
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			e.heldMu.Lock()
			e.held = append(e.held, c) // held open, unread, until close
			e.heldMu.Unlock()
		}
	}()
	e.up.Silent = silent.Addr().String()
	e.up.Refused, err = benchproc.FreeAddr()
	return err
}

// close stops every proxy and stub and removes the temp dir.
func (e *env) close() {
	for _, t := range e.targets {
		if t.req != nil {
			t.req.Close()
		}
		if t.stop != nil {
			if err := t.stop(); err != nil {
				e.log("stopping %s: %v", t.info.Name, err)
			}
		}
	}
	for _, s := range e.stubs {
		_ = s.Close()
	}
	if e.silent != nil {
		_ = e.silent.Close()
	}
	e.heldMu.Lock()
	for _, c := range e.held {
		_ = c.Close()
	}
	e.heldMu.Unlock()
	_ = os.RemoveAll(e.dir)
}

// findDriftcar uses opts.DriftcarBin, or builds ./cmd/driftcar of the
// module around the working directory, or takes the driftcar next to this
// binary.
func (e *env) findDriftcar(ctx context.Context) error {
	if e.opts.DriftcarBin != "" {
		if _, err := os.Stat(e.opts.DriftcarBin); err != nil {
			return fmt.Errorf("cannot use --driftcar-bin: %w", err)
		}
		// Children may run in another directory: resolve the path now.
		abs, err := filepath.Abs(e.opts.DriftcarBin)
		if err != nil {
			return fmt.Errorf("cannot resolve --driftcar-bin %q: %w", e.opts.DriftcarBin, err)
		}
		e.driftcarBin = abs
		return nil
	}
	root, err := benchproc.ModuleRoot()
	if err == nil {
		e.log("building driftcar (go build ./cmd/driftcar)")
		out := filepath.Join(e.dir, "bin", "driftcar")
		if err = benchproc.GoBuild(ctx, root, out, "./cmd/driftcar"); err == nil {
			e.driftcarBin = out
			return nil
		}
	}
	if exe, xerr := os.Executable(); xerr == nil {
		if sib := filepath.Join(filepath.Dir(exe), "driftcar"); benchproc.IsFile(sib) {
			e.notes = append(e.notes, fmt.Sprintf("driftcar was not built from source (%v); %s, next to this binary, was measured", err, sib))
			e.driftcarBin = sib
			return nil
		}
	}
	return fmt.Errorf("cannot build driftcar (%w); pass --driftcar-bin or --mode inprocess", err)
}

func (e *env) startDriftcar(ctx context.Context, name string) (*target, error) {
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
	yaml, err := driftcarConfig(name, listen, admin, e.up, e.opts.Protocol, filepath.Join(e.dir, "reference.json"), dir)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "driftcar.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o644); err != nil {
		return nil, err
	}
	if e.opts.Mode == ModeInProcess {
		s, err := sidecar.New(sidecar.Options{ConfigPath: cfgPath, Logger: zap.NewNop()})
		if err != nil {
			return nil, err
		}
		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(runCtx, nil) }()
		t := &target{addr: s.ProxyAddr(), admin: s.AdminAddr(), inner: true, stop: func() error {
			cancel()
			return <-done
		}}
		if err := e.waitReady(ctx, t.addr, nil); err != nil {
			_ = t.stop()
			return nil, err
		}
		return t, nil
	}
	args := []string{"run", "--config", cfgPath, "--log-level", "warn"}
	if e.opts.Profile {
		args = append(args, "--pprof")
	}
	var env []string
	if e.opts.GOMAXPROCS > 0 {
		env = append(env, fmt.Sprintf("GOMAXPROCS=%d", e.opts.GOMAXPROCS))
	}
	c, err := benchproc.Start(dir, env, e.driftcarBin, args...)
	if err != nil {
		return nil, err
	}
	t := &target{addr: listen, admin: admin, pid: c.Cmd.Process.Pid, stop: c.Stop}
	if err := e.waitReady(ctx, t.addr, c); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return t, nil
}

func (e *env) findNginx() string {
	bin, version := benchproc.FindNginx()
	e.nginxVer = version
	return bin
}

func (e *env) startNginx(ctx context.Context, bin, name string) (*target, error) {
	dir := filepath.Join(e.dir, name)
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o777); err != nil {
		return nil, err
	}
	listen, err := benchproc.FreeAddr()
	if err != nil {
		return nil, err
	}
	mirror := map[string]string{NginxMirror: e.up.Shadow, NginxSlowMirror: e.up.SlowShadow}[name]
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConfig(listen, e.up.Live, mirror)), 0o644); err != nil {
		return nil, err
	}
	c, err := benchproc.Start(dir, nil, bin, "-c", conf, "-p", dir+"/", "-e", filepath.Join(dir, "output.log"))
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

func (e *env) startHTTPUtil(ctx context.Context) (*target, error) {
	dir := filepath.Join(e.dir, "httputil")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), httputilSource, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module httputilpeer\n\ngo 1.22\n"), 0o644); err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "httputil")
	if err := benchproc.GoBuild(ctx, dir, bin, ".", "GOWORK=off", "GOFLAGS=-mod=mod"); err != nil {
		return nil, err
	}
	listen, err := benchproc.FreeAddr()
	if err != nil {
		return nil, err
	}
	c, err := benchproc.Start(dir, nil, bin, "-listen", listen, "-upstream", "http://"+e.up.Live)
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

// waitReady posts the benchmark request to addr until it answers 200, for
// at most 15 seconds.
func (e *env) waitReady(ctx context.Context, addr string, c *benchproc.Child) error {
	req := loadgen.NewHTTP(loadgen.HTTPOptions{
		Addr: addr, Path: e.opts.Protocol.Path(), Body: e.opts.Protocol.RequestBody(), Timeout: time.Second, MaxConns: 1,
	})
	defer req.Close()
	deadline := time.Now().Add(15 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		if c != nil && c.Exited() {
			return fmt.Errorf("exited: %s", c.LogTail())
		}
		status, err := req.Do()
		// A stub failing on purpose (--error-rate) answers 500 through
		// the proxy too.
		if err == nil && (status == fasthttp.StatusOK || e.opts.ErrorRate > 0 && status == fasthttp.StatusInternalServerError) {
			return nil
		}
		last = fmt.Sprintf("status %d, %v", status, err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	msg := "not answering at " + addr + " after 15s (" + last + ")"
	if c != nil {
		msg += ": " + c.LogTail()
	}
	return errors.New(msg)
}
