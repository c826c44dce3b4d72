package sidecar

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/detector"
	"github.com/driftcar/driftcar/detector/guard"
	"github.com/driftcar/driftcar/detector/stat"
	"github.com/driftcar/driftcar/grpcproxy"
	"github.com/driftcar/driftcar/internal/admin"
	"github.com/driftcar/driftcar/internal/buildinfo"
	"github.com/driftcar/driftcar/internal/panics"
	"github.com/driftcar/driftcar/internal/ui"
	"github.com/driftcar/driftcar/llm"
	"github.com/driftcar/driftcar/predlog"
	"github.com/driftcar/driftcar/proxy"
	"github.com/driftcar/driftcar/sampler"
	"github.com/driftcar/driftcar/shadow"
)

// Options configure a Sidecar.
type Options struct {
	// ConfigPath is the YAML file to load and reload. Required.
	ConfigPath string
	Logger     *zap.Logger
	// Pprof mounts /debug/pprof on the admin server.
	Pprof bool
	// ProbeInterval is how often the live upstreams are dialed for
	// readiness. Default 2s.
	ProbeInterval time.Duration
	// Now is the clock for reload timestamps, sketches and drift tests.
	// Default time.Now.
	Now func() time.Time
	// CalibrationTicks overrides the simulated ticks of the drift
	// threshold calibration (tests use fewer). Default: the detector's.
	CalibrationTicks int
	// WebhookBackoff is the first retry delay of the webhook. Default 1s.
	WebhookBackoff time.Duration
	// ManualTicks disables the drift ticker; tests call TickDrift.
	ManualTicks bool
	// XDS means the routing comes from an xDS control plane through
	// ApplyXDS: the file may hold only listen, admin and model, the sidecar
	// is not ready before the first update, and Reload re-reads the file
	// as the base of the xDS config through the function given to
	// UseXDSBase.
	XDS bool
}

// Sidecar is one running driftcar process.
type Sidecar struct {
	opts          Options
	log           *zap.Logger
	registry      *prometheus.Registry
	reg           prometheus.Registerer // with the model label
	synced        atomic.Bool           // an xDS update was applied
	proxy         *proxy.Server
	grpc          *grpcproxy.Server // nil without grpc_listen
	shadows       *shadow.Fleet
	shadowMetrics *shadow.Metrics
	ring          *shadow.Ring
	features      *sampler.Collector
	sampling      *sampler.Set // guarded by reloadMu
	sampKey       string       // guarded by reloadMu
	panics        *panics.Counter
	llmMetrics    *llm.Metrics
	counters      map[string]*llm.Counter                 // guarded by reloadMu
	countersNow   atomic.Pointer[map[string]*llm.Counter] // counters, for the API
	logMetrics    *predlog.Metrics
	logs          *logRuntime // guarded by reloadMu
	logNow        atomic.Pointer[logRuntime]
	truth         *truthRuntime // guarded by reloadMu
	truthNow      atomic.Pointer[truthRuntime]
	answers       *liveAnswers
	signals       *signals

	drift          *driftRuntime // guarded by reloadMu
	driftNow       atomic.Pointer[driftRuntime]
	calibrator     *stat.Calibrator // guarded by reloadMu
	calibratorOpts stat.Options     // guarded by reloadMu
	bg             context.Context  // lives until shutdown
	bgCancel       context.CancelFunc
	bgDone         sync.WaitGroup // goroutines on bg
	webhook        atomic.Pointer[detector.Webhook]
	rollbacks      *guard.RollbackCounts
	admin          *admin.Server
	proxyLn        net.Listener
	adminLn        net.Listener
	grpcLn         net.Listener

	xdsBase atomic.Pointer[func(base []byte) error]

	reloadMu sync.Mutex // serializes Reload; guards raw
	raw      []byte
	cfg      atomic.Pointer[config.Config]
	ready    atomic.Pointer[error]

	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge
	info       *prometheus.GaugeVec
}

var errNotProbed = errors.New("live upstream not yet reached")

// New loads the config, registers metrics and binds both listeners, so the
// addresses are known before Run. When it fails, it has stopped whatever
// it started.
func New(opts Options) (_ *Sidecar, err error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.ProbeInterval <= 0 {
		opts.ProbeInterval = 2 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg, raw, err := config.LoadWith(opts.ConfigPath, config.ParseOptions{AllowEmptyRouting: opts.XDS})
	if err != nil {
		return nil, err
	}
	s := &Sidecar{opts: opts, log: opts.Logger, registry: prometheus.NewRegistry(), raw: raw}
	s.bg, s.bgCancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			s.stopStarted()
		}
	}()
	s.rollbacks = guard.NewRollbackCounts()
	s.cfg.Store(cfg)
	s.ready.Store(&errNotProbed)

	reg := prometheus.WrapRegistererWith(prometheus.Labels{"model": cfg.Model}, s.registry)
	s.reg = reg
	s.registerMetrics(reg)
	s.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	proxyMetrics := proxy.NewMetrics(reg)
	s.proxy, err = proxy.New(cfg, proxy.Options{
		Logger:  s.log.Named("proxy"),
		Metrics: proxyMetrics,
	})
	if err != nil {
		return nil, err
	}
	samples := cfg.ShadowSamples
	s.ring = shadow.NewRing(samples.Keep, int(samples.MaxBody), *samples.RequestBodies)
	s.shadowMetrics = shadow.NewMetrics(reg, proxyMetrics.UpstreamDuration())
	s.panics = panics.NewCounter(reg, s.log.Named("panics"), s.opts.Now)
	s.llmMetrics = llm.NewMetrics(reg)
	s.logMetrics = predlog.NewMetrics(reg)
	s.answers = &liveAnswers{}
	s.signals = &signals{s: s, now: s.opts.Now}
	s.shadows = shadow.NewFleet(shadow.Options{
		Logger:  s.log.Named("shadow"),
		Metrics: s.shadowMetrics,
		Ring:    s.ring,
		Panics:  s.panics,
		Answers: s.answers,
	})
	s.features = sampler.NewCollector()
	reg.MustRegister(s.features, detector.NewCollector(s.currentMonitor), delegate{detector.DescribeWebhook, func() prometheus.Collector {
		if w := s.webhook.Load(); w != nil {
			return w
		}
		return nil
	}})
	if err := s.newGRPC(cfg); err != nil {
		return nil, err
	}
	if err := s.apply(cfg); err != nil {
		return nil, err
	}
	s.admin = admin.New(admin.Options{
		Logger:   s.log.Named("admin"),
		Gatherer: prometheus.Gatherers{s.registry, truthGatherer{s}},
		Ready:    s.readyErr,
		Detail:   s.logDetail,
		Config:   func() []byte { return s.cfg.Load().RedactedJSON() },
		Token:    cfg.Token(os.Getenv),
		UI:       ui.Handler(),
		APIs: map[string]func() any{
			"shadow/mismatches": func() any { return s.ring.Snapshot() },
			"features":          s.featuresAPI,
			"reference":         s.referenceAPI,
			"drift":             s.driftAPI,
			"routes":            s.routesAPI,
			"ground-truth":      s.groundTruthAPI,
		},
		Handlers: map[string]http.Handler{"POST /api/v1/feedback": s.feedbackHandler()},
		Pprof:    opts.Pprof,
	})
	if s.proxyLn, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("cannot listen on %s (listen): %w", cfg.Listen, err)
	}
	if s.adminLn, err = net.Listen("tcp", cfg.Admin); err != nil {
		return nil, fmt.Errorf("cannot listen on %s (admin): %w", cfg.Admin, err)
	}
	s.recordReload(true, raw)
	if cfg.AdminTokenEnv != "" && cfg.Token(os.Getenv) == "" {
		return nil, fmt.Errorf("admin_token_env: variable %s is empty or unset", cfg.AdminTokenEnv)
	}
	if !isLoopback(s.AdminAddr()) && cfg.Token(os.Getenv) == "" {
		s.log.Warn("THE ADMIN SERVER IS REACHABLE FROM OTHER HOSTS WITHOUT admin_token: /api exposes the config and recent request bodies; set admin_token or bind admin to 127.0.0.1",
			zap.String("admin", s.AdminAddr()))
	}
	return s, nil
}

// stopStarted stops what a failing New started: the taps, the drift
// runtime, the background goroutines (webhook) and the listeners.
func (s *Sidecar) stopStarted() {
	if s.shadows != nil {
		s.shadows.Close()
	}
	s.drift.stop()
	s.bgCancel()
	s.bgDone.Wait()
	if s.sampling != nil {
		s.sampling.Stop()
	}
	stopCounters(maps.Values(s.counters))
	s.logs.stop()
	s.truth.stop()
	for _, ln := range []net.Listener{s.proxyLn, s.adminLn, s.grpcLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	if s.grpc != nil {
		_ = s.grpc.Shutdown(context.Background()) // closes its upstream connections
	}
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

func (s *Sidecar) registerMetrics(reg prometheus.Registerer) {
	bi := buildinfo.Get()
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace:   "driftcar",
		Name:        "build_info",
		Help:        "Always 1; the labels describe the running binary.",
		ConstLabels: prometheus.Labels{"version": bi.Version, "revision": bi.Revision, "goversion": bi.GoVersion},
	})
	buildInfo.Set(1)
	s.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "driftcar",
		Name:      "config_last_reload_successful",
		Help:      "1 if the last config load or reload succeeded, else 0.",
	})
	s.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "driftcar",
		Name:      "config_last_reload_success_timestamp_seconds",
		Help:      "Unix time of the last successful config load or reload.",
	})
	s.info = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "driftcar",
		Name:      "config_info",
		Help:      "Always 1 for the config now serving; version is a hash of its source.",
	}, []string{"source", "version"})
	reg.MustRegister(buildInfo, s.reloadOK, s.reloadTime, s.info)
}

// ProxyAddr is the bound inference address.
func (s *Sidecar) ProxyAddr() string { return s.proxyLn.Addr().String() }

// AdminAddr is the bound admin address.
func (s *Sidecar) AdminAddr() string { return s.adminLn.Addr().String() }

// Registerer returns the registerer that adds the model label, for
// components wired in from outside (the xDS client).
func (s *Sidecar) Registerer() prometheus.Registerer { return s.reg }

// ApplyXDS applies a config from the control plane, like a file reload;
// its error becomes the NACK's error_detail.
func (s *Sidecar) ApplyXDS(cfg *config.Config, version string) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	err := needsRestart(s.cfg.Load(), cfg)
	if err == nil {
		err = s.apply(cfg)
	}
	if err != nil {
		s.reloadOK.Set(0)
		return err
	}
	s.cfg.Store(cfg)
	s.reloadOK.Set(1)
	s.reloadTime.Set(float64(s.opts.Now().UnixNano()) / 1e9)
	s.info.Reset()
	s.info.WithLabelValues("xds", version).Set(1)
	s.synced.Store(true)
	s.log.Info("xds config applied", zap.String("version", version), zap.String("summary", cfg.Summary()))
	return nil
}

// Registry returns the sidecar's metrics registry.
func (s *Sidecar) Registry() *prometheus.Registry { return s.registry }

// Run serves until ctx ends, reloading the config on each receive from
// reload. On ctx end it stops accepting, drains in-flight requests for at
// most the configured drain_timeout, and returns.
func (s *Sidecar) Run(ctx context.Context, reload <-chan struct{}) error {
	serveErr := make(chan error, 2)
	go func() { serveErr <- s.proxy.Serve(s.proxyLn) }()
	go func() { serveErr <- s.admin.Serve(s.adminLn) }()
	serving := 2
	if s.grpc != nil {
		serving++
		go func() { serveErr <- s.grpc.Serve(s.grpcLn) }()
	}
	probeCtx, stopProbe := context.WithCancel(ctx)
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		s.probeLoop(probeCtx)
	}()
	s.log.Info("serving", zap.String("listen", s.ProxyAddr()), zap.String("admin", s.AdminAddr()),
		zap.String("config", s.opts.ConfigPath))

	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-reload:
			if rerr := s.Reload(); rerr != nil {
				s.log.Error("config reload failed; using the last successfully loaded config", zap.Error(rerr))
			}
		case err = <-serveErr:
			serving--
			if err != nil {
				break loop
			}
		}
	}
	stopProbe()
	<-probeDone
	err = errors.Join(err, s.shutdown())
	// A Serve that had not yet started when Shutdown ran would accept
	// forever: closing the listeners ends it either way.
	_ = s.proxyLn.Close()
	_ = s.adminLn.Close()
	if s.grpcLn != nil {
		_ = s.grpcLn.Close()
	}
	for ; serving > 0; serving-- {
		<-serveErr //nolint:errcheck // after Shutdown, Serve's error says only that it stopped
	}
	return err
}

func (s *Sidecar) shutdown() error {
	timeout := time.Duration(s.cfg.Load().DrainTimeout)
	s.log.Info("draining", zap.Duration("timeout", timeout))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	perr := s.proxy.Shutdown(ctx)
	if s.grpc != nil {
		perr = errors.Join(perr, s.grpc.Shutdown(ctx))
	}
	s.shadows.Close()
	s.reloadMu.Lock()
	s.drift.stop()
	s.bgCancel()
	s.bgDone.Wait()
	if s.sampling != nil {
		s.sampling.Stop()
	}
	stopCounters(maps.Values(s.counters))
	s.logs.stop()
	s.truth.stop()
	s.reloadMu.Unlock()
	actx, acancel := context.WithTimeout(context.Background(), time.Second)
	defer acancel()
	aerr := s.admin.Shutdown(actx)
	s.log.Info("stopped")
	return errors.Join(perr, aerr)
}

// Reload re-reads the config file. An invalid file, or one that changes a
// setting that needs a restart, is rejected whole and the last good config
// keeps serving.
func (s *Sidecar) Reload() error {
	if s.opts.XDS {
		return s.reloadXDSBase()
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	cfg, raw, err := config.Load(s.opts.ConfigPath)
	var plan *samplingPlan
	if err == nil {
		plan, err = planSampling(cfg, s.opts.Now)
	}
	// A replaced reference file is picked up even when the config did not
	// change.
	if err == nil && bytes.Equal(raw, s.raw) && plan.keyOrEmpty() == s.sampKey {
		s.recordReload(true, raw)
		return nil
	}
	if err == nil {
		err = needsRestart(s.cfg.Load(), cfg)
	}
	if err == nil {
		err = s.applyPlan(cfg, plan)
	}
	if err != nil {
		s.recordReload(false, nil)
		return fmt.Errorf("cannot reload: %w", err)
	}
	s.cfg.Store(cfg)
	s.raw = raw
	s.recordReload(true, raw)
	s.log.Info("config reloaded", zap.String("summary", cfg.Summary()))
	return nil
}

// UseXDSBase sets how Reload hands a re-read base file to the xDS client,
// which rebuilds its config over it and applies it through ApplyXDS.
func (s *Sidecar) UseXDSBase(set func(base []byte) error) { s.xdsBase.Store(&set) }

func (s *Sidecar) reloadXDSBase() error {
	set := s.xdsBase.Load()
	if set == nil {
		return errors.New("cannot reload: the xDS client has not started")
	}
	raw, err := os.ReadFile(s.opts.ConfigPath)
	if err == nil {
		err = (*set)(raw)
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if err != nil {
		s.reloadOK.Set(0)
		return fmt.Errorf("cannot reload the base file: %w", err)
	}
	s.reloadOK.Set(1)
	s.reloadTime.Set(float64(s.opts.Now().UnixNano()) / 1e9)
	s.log.Info("base file reloaded under the xDS config", zap.String("config", s.opts.ConfigPath))
	return nil
}

func (s *Sidecar) recordReload(ok bool, raw []byte) {
	if !ok {
		s.reloadOK.Set(0)
		return
	}
	s.reloadOK.Set(1)
	s.reloadTime.Set(float64(s.opts.Now().UnixNano()) / 1e9)
	sum := sha256.Sum256(raw)
	s.info.Reset()
	s.info.WithLabelValues("file", hex.EncodeToString(sum[:6])).Set(1)
}

// apply starts the taps cfg asks for, swaps the proxy onto cfg with them,
// and then retires the taps it no longer uses. A sampling setup that
// cannot start (a missing or corrupt reference) is an error, and nothing
// changes.
func (s *Sidecar) apply(cfg *config.Config) error {
	plan, err := planSampling(cfg, s.opts.Now)
	if err != nil {
		return err
	}
	return s.applyPlan(cfg, plan)
}

// applyPlan is apply with the sampling plan of cfg already made.
func (s *Sidecar) applyPlan(cfg *config.Config, plan *samplingPlan) error {
	shadows, err := shadowSpecs(cfg)
	if err != nil {
		return err
	}
	set, key := s.sampling, s.sampKey
	switch {
	case plan == nil:
		set, key = nil, ""
	case plan.key != s.sampKey:
		if set, err = sampler.NewSet(plan.model, plan.routes, sampler.Options{Logger: s.log.Named("sampling"), Panics: s.panics}); err != nil {
			return err
		}
		key = plan.key
	}
	logs, retireLogs, err := s.startLog(cfg)
	if err != nil {
		if set != nil && set != s.sampling {
			set.Stop()
		}
		return err
	}
	rt, err := s.startDrift(cfg, set)
	if err == nil {
		var truth *truthRuntime
		var retireTruth func()
		if truth, retireTruth, err = s.startTruth(cfg, set); err == nil {
			var mirrors map[string]*shadow.Mirror
			var retired []*shadow.Mirror
			if mirrors, retired, err = s.shadows.Update(shadows); err == nil {
				s.swap(cfg, set, key, rt, mirrors, retired, logs, truth)
				retireLogs()
				retireTruth()
				return nil
			}
			if truth != s.truth {
				truth.stop()
			}
		}
		if rt != s.drift {
			rt.stop()
		}
	}
	if logs != s.logs {
		logs.stopNew(s.logs)
	}
	if set != nil && set != s.sampling {
		set.Stop()
	}
	return err
}

// swap makes the proxy serve cfg with the new taps, then retires the old.
func (s *Sidecar) swap(cfg *config.Config, set *sampler.Set, key string, rt *driftRuntime, mirrors map[string]*shadow.Mirror, retired []*shadow.Mirror, logs *logRuntime, truth *truthRuntime) {
	counters, retiredCounters := s.llmCounters(cfg)
	taps := proxy.Taps{}
	for _, r := range cfg.Routes {
		var rt proxy.RouteTaps
		if m := mirrors[r.Name]; m != nil {
			rt.Mirror = m
		}
		if c := counters[r.Name]; c != nil {
			rt.Tokens, rt.TimeTokens = c, true
		}
		rt.Recorder = recorders(logs, truth, r.Name)
		if set != nil {
			if t := set.Tap(r.Name); t != nil {
				rt.Sampler = t
			}
		}
		taps[r.Name] = rt
	}
	if logs != nil {
		s.answers.capture.Store(logs.capture)
	} else {
		s.answers.capture.Store(nil)
	}
	if truth != nil {
		s.answers.truth.Store(truth.capture)
	} else {
		s.answers.truth.Store(nil)
	}
	s.proxy.Apply(cfg, taps)
	s.applyGRPC(cfg, set, mirrors, truth)
	s.logs = logs
	s.logNow.Store(logs)
	s.truth = truth
	s.truthNow.Store(truth)
	shadow.Retire(retired)
	s.counters = counters
	s.countersNow.Store(&counters)
	stopCounters(slices.Values(retiredCounters))

	if rt != s.drift {
		s.drift.stop()
	}
	s.drift = rt
	s.driftNow.Store(rt)
	old := s.sampling
	s.sampling, s.sampKey = set, key
	s.features.Use(set)
	if old != nil && old != set {
		old.Stop()
	}
}

// needsRestart reports the settings that a reload cannot change.
func needsRestart(old, next *config.Config) error {
	var errs []error
	check := func(field string, changed bool) {
		if changed {
			errs = append(errs, fmt.Errorf("%s: cannot change without a restart", field))
		}
	}
	check("listen", old.Listen != next.Listen)
	check("admin", old.Admin != next.Admin)
	check("grpc_listen", old.GRPCListen != next.GRPCListen)
	check("grpc", old.GRPC != next.GRPC)
	check("model", old.Model != next.Model)
	check("max_request_body", old.MaxRequestBody != next.MaxRequestBody)
	check("shadow_samples", !reflect.DeepEqual(old.ShadowSamples, next.ShadowSamples))
	check("admin_token", old.AdminToken != next.AdminToken || old.AdminTokenEnv != next.AdminTokenEnv)
	return errors.Join(errs...)
}
