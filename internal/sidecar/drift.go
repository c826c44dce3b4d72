package sidecar

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/detector"
	"github.com/driftcar/driftcar/detector/guard"
	"github.com/driftcar/driftcar/detector/stat"
	"github.com/driftcar/driftcar/grpcproxy"
	"github.com/driftcar/driftcar/internal/buildinfo"
	"github.com/driftcar/driftcar/proxy"
	"github.com/driftcar/driftcar/sampler"
)

// driftRuntime is the running monitor of one config, and how to stop it.
type driftRuntime struct {
	key     driftKey
	monitor *detector.Monitor
	cancel  context.CancelFunc
	done    sync.WaitGroup
}

func (d *driftRuntime) stop() {
	if d == nil {
		return
	}
	d.cancel()
	d.done.Wait()
}

// detectorOptions maps the drift section onto detector options.
func detectorOptions(cfg *config.Config, ticks int) (stat.Options, error) {
	rate, err := stat.ParseRate(cfg.Drift.FalseAlarmRate)
	if err != nil {
		return stat.Options{}, fmt.Errorf("drift.false_alarm_rate: %w", err)
	}
	o := stat.Options{
		Slice:          time.Duration(cfg.Sketch.SliceDuration),
		Every:          time.Duration(cfg.Drift.EvaluateEvery),
		FalseAlarmRate: rate,
		MinSamples:     uint64(cfg.Drift.MinSamples),
		LazyPValues:    true,
	}
	for _, w := range cfg.Drift.Windows {
		o.Windows = append(o.Windows, time.Duration(w))
	}
	o.Calibration.Ticks = ticks
	return o, nil
}

// driftKey is what a drift runtime depends on: the same key keeps it.
type driftKey struct {
	detector   stat.Options
	webhook    bool
	correction string
	arms       [][]string // per route: its name, then its arms
	set        *sampler.Set
}

// startDrift starts the monitor (and webhook) for cfg and set, or keeps
// the running one when nothing it depends on changed.
func (s *Sidecar) startDrift(cfg *config.Config, set *sampler.Set) (*driftRuntime, error) {
	if set == nil && cfg.CanaryGuard == nil {
		return nil, nil
	}
	opts, err := detectorOptions(cfg, s.opts.CalibrationTicks)
	if err != nil {
		return nil, err
	}
	// Weights, shadow and guard settings change often (every canary step)
	// and must not reset the drift state: the key holds only what the
	// monitor depends on. The guard is replaced on every config change.
	var arms [][]string
	for _, r := range cfg.Routes {
		names := []string{r.Name}
		for _, a := range r.Split {
			names = append(names, a.Upstream)
		}
		arms = append(arms, names)
	}
	key := driftKey{
		detector:   opts,
		webhook:    cfg.Drift.Webhook != nil && set != nil,
		correction: cfg.Drift.Correction,
		arms:       arms,
		set:        set,
	}
	s.configureWebhook(cfg)
	guard := s.newGuard(cfg)
	if s.drift != nil && reflect.DeepEqual(s.drift.key, key) {
		s.drift.monitor.SetGuard(guard)
		return s.drift, nil
	}
	if s.calibrator == nil || !reflect.DeepEqual(s.calibratorOpts, opts) {
		cal, err := stat.NewCalibrator(opts)
		if err != nil {
			return nil, fmt.Errorf("drift: %w", err)
		}
		s.calibrator, s.calibratorOpts = cal, opts
	}

	rt := &driftRuntime{key: key}
	mopts := detector.Options{
		Logger:     s.log.Named("drift"),
		Now:        s.opts.Now,
		Calibrator: s.calibrator,
		Correction: stat.Holm,
		Guard:      guard,
	}
	if cfg.Drift.Correction == "bh" {
		mopts.Correction = stat.BenjaminiHochberg
	}
	if cfg.Drift.Webhook != nil && set != nil {
		mopts.Notify = s.notifier(cfg, set, s.webhook.Load())
	}
	rt.monitor, err = detector.New(set, mopts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(s.bg)
	rt.cancel = cancel
	if !s.opts.ManualTicks {
		rt.done.Add(1)
		go func() { defer rt.done.Done(); rt.monitor.Run(ctx) }()
	}
	return rt, nil
}

// configureWebhook points the sidecar's one webhook at cfg's target. The
// webhook outlives drift runtimes, so a config change neither loses its
// queue nor resets its counts; it is started on first use.
func (s *Sidecar) configureWebhook(cfg *config.Config) {
	wh := cfg.Drift.Webhook
	if wh == nil {
		return
	}
	var secret []byte
	if wh.SecretEnv != "" {
		secret = []byte(os.Getenv(wh.SecretEnv))
		if len(secret) == 0 {
			s.log.Warn("webhook secret variable is empty; notifications are unsigned", zap.String("secret_env", wh.SecretEnv))
		}
	}
	opts := detector.WebhookOptions{
		URL: wh.URL, Secret: secret, Cooldown: time.Duration(wh.Cooldown), Timeout: time.Duration(wh.Timeout),
		Retries: *wh.Retries, Backoff: s.opts.WebhookBackoff, Now: s.opts.Now,
	}
	detector.ApplyWebhookConfig(&opts, wh, os.Getenv)
	opts.Signals = s.signals.of
	if w := s.webhook.Load(); w != nil {
		w.Reconfigure(opts)
		return
	}
	w := detector.NewWebhook(opts, s.log.Named("webhook"))
	s.webhook.Store(w)
	s.bgDone.Add(1)
	go func() { defer s.bgDone.Done(); w.Run(s.bg) }()
}

// newGuard returns a fresh canary guard for cfg, or nil; the rollback
// totals carry over.
func (s *Sidecar) newGuard(cfg *config.Config) *guard.Guard {
	g := cfg.CanaryGuard
	if g == nil {
		return nil
	}
	routes, order := map[string][]string{}, []string{}
	for _, r := range cfg.Routes {
		for _, a := range r.Split {
			routes[r.Name] = append(routes[r.Name], a.Upstream)
		}
		order = append(order, r.Name)
	}
	o := guard.Options{
		Rollback:             *g.Rollback,
		MinRequests:          uint64(g.MinRequests),
		MaxErrorRateIncrease: *g.MaxErrorRateIncrease,
		MaxLatencyP99Ratio:   g.MaxLatencyP99Ratio,
		MaxTTFTP99Ratio:      g.MaxTTFTP99Ratio,
		PredictionDrift:      g.MaxPredictionDrift == "auto",
		Window:               time.Duration(g.Window),
		Slice:                time.Duration(cfg.Sketch.SliceDuration),
		Counts:               s.rollbacks,
	}
	if g.MaxAccuracyDrop != nil && cfg.GroundTruth != nil {
		o.MaxAccuracyDrop, o.MinLabels, o.Labels = *g.MaxAccuracyDrop, uint64(cfg.GroundTruth.MinLabels), s.guardLabels
	}
	return guard.New(o, guardArms{s.proxy, s.grpc}, routes, order, s.log.Named("canary"))
}

// guardArms are the proxy's arms as the guard sees them: the HTTP
// proxy's stats plus the gRPC relay's for routes it serves, so a canary
// failing over either is seen.
type guardArms struct {
	p *proxy.Server
	g *grpcproxy.Server // nil without grpc_listen
}

var _ guard.Arms = guardArms{}

func (a guardArms) ArmStats(route, arm string) (guard.Stats, bool) {
	st, ok := a.p.ArmStats(route, arm)
	out := guard.Stats{Requests: st.Requests, Errors: st.Errors, Buckets: st.Buckets, Bounds: st.Bounds,
		Streams: st.FirstToken.Count, FirstToken: st.FirstToken.Buckets}
	if a.g == nil {
		return out, ok
	}
	gs, gok := a.g.ArmStats(route, arm)
	if !gok {
		return out, ok
	}
	if !ok || !slices.Equal(out.Bounds, gs.Bounds) {
		// Both use the same buckets; were that to change, gRPC alone
		// would still be judged rather than mixed.
		return guard.Stats{Requests: gs.Requests, Errors: gs.Errors, Buckets: gs.Buckets, Bounds: gs.Bounds}, true
	}
	out.Requests += gs.Requests
	out.Errors += gs.Errors
	out.Buckets = slices.Clone(out.Buckets)
	for i := range out.Buckets {
		out.Buckets[i] += gs.Buckets[i]
	}
	return out, true
}

// SetWeight sets the weight on both listeners.
func (a guardArms) SetWeight(route, arm string, weight int) error {
	err := a.p.SetWeight(route, arm, weight)
	if a.g != nil && a.g.Serves(route) {
		err = errors.Join(err, a.g.SetWeight(route, arm, weight))
	}
	return err
}

func (s *Sidecar) notifier(cfg *config.Config, set *sampler.Set, wh *detector.Webhook) func(detector.Alert) {
	var windows []string
	for _, w := range cfg.Drift.Windows {
		windows = append(windows, w.String())
	}
	bi := buildinfo.Get()
	host, _ := os.Hostname()
	id := detector.Identity{Pod: os.Getenv("POD_NAME"), Namespace: os.Getenv("POD_NAMESPACE"), Host: host, Version: bi.Version}
	model := cfg.Model
	return func(a detector.Alert) {
		p := detector.Payload{Event: detector.EventDrift, Model: model, Route: a.Route, Features: a.Features, Windows: windows, DriftAt: a.At, Sidecar: id}
		if prof := set.Profile(); prof != nil {
			p.Reference = detector.ReferenceID{Hash: prof.Hash, Source: prof.Source, Rows: prof.Rows}
		}
		wh.Notify(p)
	}
}

// currentMonitor is read by the drift collector and /api/drift.
func (s *Sidecar) currentMonitor() *detector.Monitor {
	if rt := s.driftNow.Load(); rt != nil {
		return rt.monitor
	}
	return nil
}

// delegate is a collector that forwards to whatever get returns now;
// describe sends the descriptors of everything get may return.
type delegate struct {
	describe func(chan<- *prometheus.Desc)
	get      func() prometheus.Collector
}

func (d delegate) Describe(ch chan<- *prometheus.Desc) { d.describe(ch) }

func (d delegate) Collect(ch chan<- prometheus.Metric) {
	if c := d.get(); c != nil {
		c.Collect(ch)
	}
}
