package sidecar

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/detector"
	"github.com/driftcar/driftcar/detector/stat"
	"github.com/driftcar/driftcar/groundtruth"
	"github.com/driftcar/driftcar/groundtruth/perf"
	"github.com/driftcar/driftcar/internal/buildinfo"
	"github.com/driftcar/driftcar/internal/kafkaauth"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/proxy"
	"github.com/driftcar/driftcar/sampler"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// truthRuntime is the running ground truth of one config: the join
// table, the capture in front of it, the label intake and the monitor,
// with a registry of their own so that a config change can replace them.
type truthRuntime struct {
	key      truthKey
	table    *groundtruth.Table
	capture  *groundtruth.Capture
	monitor  *groundtruth.Monitor
	feedback *groundtruth.Feedback
	kafka    *groundtruth.KafkaLabels
	registry *prometheus.Registry
	cancel   context.CancelFunc
	done     sync.WaitGroup
}

// truthKey is what a truth runtime depends on: the same key keeps it.
type truthKey struct {
	gt         config.GroundTruth
	routes     []groundtruth.CaptureRoute
	prediction *payload.PredictionSpec
	classes    []string
	detector   stat.Options
	set        *sampler.Set
}

func (t *truthRuntime) stop() {
	if t == nil {
		return
	}
	t.cancel()
	t.done.Wait()
	if t.kafka != nil {
		t.kafka.Close()
	}
	t.capture.Stop()
}

// startTruth returns the ground truth of cfg: the running one when
// nothing it depends on changed, else a new one. The old one is returned
// to be stopped after the proxy has swapped.
func (s *Sidecar) startTruth(cfg *config.Config, set *sampler.Set) (next *truthRuntime, retire func(), err error) {
	old := s.truth
	if cfg.GroundTruth == nil {
		return nil, func() { old.stop() }, nil
	}
	gt := cfg.GroundTruth
	s.configureWebhook(cfg) // its events go out without drift monitoring too
	opts, err := detectorOptions(cfg, s.opts.CalibrationTicks)
	if err != nil {
		return nil, nil, err
	}
	_, pred, err := cfg.PayloadSpecs()
	if err != nil {
		return nil, nil, err
	}
	key := truthKey{gt: *gt, prediction: pred, detector: opts, set: set, classes: truthClasses(gt, set)}
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		proto, err := r.PayloadProtocol()
		if err != nil {
			return nil, nil, fmt.Errorf("routes[%d].protocol: %w", i, err)
		}
		cr := groundtruth.CaptureRoute{Name: r.Name, Protocol: proto}
		for _, a := range r.Split {
			cr.Arms = append(cr.Arms, a.Upstream)
		}
		if r.Shadow != nil {
			cr.Shadow = r.Shadow.Upstream
		}
		key.routes = append(key.routes, cr)
	}
	if old != nil && reflect.DeepEqual(old.key, key) {
		return old, func() {}, nil
	}
	cal, err := s.calibratorFor(opts)
	if err != nil {
		return nil, nil, err
	}
	next, err = s.newTruth(cfg, key, cal)
	if err != nil {
		return nil, nil, err
	}
	return next, func() { old.stop() }, nil
}

// truthClasses are the label's classes: the config's, else the
// categories of the reference's prediction.
func truthClasses(gt *config.GroundTruth, set *sampler.Set) []string {
	if len(gt.Label.Classes) > 0 || gt.Label.Type != config.LabelCategorical || set == nil {
		return gt.Label.Classes
	}
	var classes []string
	if p := set.Profile(); p != nil && p.Prediction != nil {
		for _, c := range p.Prediction.Categories {
			classes = append(classes, c.Value)
		}
	}
	return classes
}

func (s *Sidecar) newTruth(cfg *config.Config, key truthKey, cal *stat.Calibrator) (_ *truthRuntime, err error) {
	gt := &key.gt
	kind, err := perf.ParseKind(gt.Label.Type)
	if err != nil {
		return nil, fmt.Errorf("ground_truth.label.type: %w", err)
	}
	spec := perf.Spec{Kind: kind, Classes: key.classes}
	if gt.Label.Threshold != nil {
		spec.Threshold = *gt.Label.Threshold
	}
	if spec, err = spec.WithDefaults(); err != nil {
		return nil, fmt.Errorf("ground_truth.label: %w", err)
	}
	t := &truthRuntime{key: key, registry: prometheus.NewRegistry()}
	reg := prometheus.WrapRegistererWith(prometheus.Labels{"model": cfg.Model}, t.registry)
	if t.table, err = groundtruth.NewTable(groundtruth.TableOptions{MaxEntries: gt.MaxEntries, TTL: time.Duration(gt.TTL), Now: s.opts.Now}); err != nil {
		return nil, fmt.Errorf("ground_truth: %w", err)
	}
	if t.capture, err = groundtruth.NewCapture(groundtruth.CaptureOptions{
		Table: t.table, Spec: spec, Routes: key.routes, Prediction: key.prediction,
		Queue: gt.Queue, Registerer: reg, Logger: s.log.Named("ground_truth"), Panics: s.panics,
	}); err != nil {
		return nil, fmt.Errorf("ground_truth: %w", err)
	}
	defer func() {
		if err != nil {
			t.capture.Stop()
		}
	}()
	var reference func(string) *sketch.PerformanceProfile
	if set := key.set; set != nil {
		reference = func(string) *sketch.PerformanceProfile {
			if p := set.Profile(); p != nil {
				return p.Performance
			}
			return nil
		}
	}
	sla := groundtruth.SLA{MinAccuracy: gt.SLA.MinAccuracy, MaxRMSE: gt.SLA.MaxRMSE, MaxMAE: gt.SLA.MaxMAE}
	if t.monitor, err = groundtruth.NewMonitor(groundtruth.MonitorOptions{
		Spec: spec, Routes: key.routes, Calibrator: cal, Reference: reference, ReferenceRows: gt.ReferenceRows,
		Verdict: perf.VerdictOptions{Margin: gt.Margin, Alpha: gt.Alpha, MinN: uint64(gt.MinLabels)},
		SLA:     sla, Notify: s.truthNotifier(cfg, gt.Margin), Now: s.opts.Now, Logger: s.log.Named("ground_truth"),
	}); err != nil {
		return nil, fmt.Errorf("ground_truth: %w", err)
	}
	if err = reg.Register(t.monitor); err != nil {
		return nil, err
	}
	names := make([]string, len(key.routes))
	for i, r := range key.routes {
		names[i] = r.Name
	}
	if t.feedback, err = groundtruth.NewFeedback(groundtruth.FeedbackOptions{
		Table: t.table, ParseLabel: spec.ParseLabel, OnJoin: t.monitor.Join, RouteNames: names,
		MaxBody: int64(gt.MaxBody), Registerer: reg, Logger: s.log.Named("feedback"), Now: s.opts.Now,
	}); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(s.bg)
	t.cancel = cancel
	if k := gt.Kafka; k != nil {
		ko := groundtruth.KafkaOptions{Brokers: k.Brokers, Topic: k.Topic, Group: k.Group, Feedback: t.feedback, Logger: s.log.Named("labels")}
		if k.TLS != nil {
			ko.TLS = &kafkaauth.TLS{CAFile: k.TLS.CAFile, CertFile: k.TLS.CertFile, KeyFile: k.TLS.KeyFile, ServerName: k.TLS.ServerName}
		}
		if k.SASL != nil {
			ko.SASL = &kafkaauth.SASL{Mechanism: k.SASL.Mechanism, User: k.SASL.Username, PasswordEnv: k.SASL.PasswordEnv}
		}
		if t.kafka, err = groundtruth.StartKafka(ctx, ko); err != nil {
			cancel()
			return nil, fmt.Errorf("ground_truth.kafka: %w", err)
		}
	}
	if !s.opts.ManualTicks {
		every := cal.Options().Every
		t.done.Add(1)
		go func() {
			defer t.done.Done()
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					func() {
						defer s.panics.Recover("ground_truth")
						t.monitor.Tick(s.opts.Now())
					}()
				}
			}
		}()
	}
	return t, nil
}

// calibratorFor is the sidecar's calibrator of opts, made when it has none
// or other options.
func (s *Sidecar) calibratorFor(opts stat.Options) (*stat.Calibrator, error) {
	if s.calibrator != nil && reflect.DeepEqual(s.calibratorOpts, opts) {
		return s.calibrator, nil
	}
	cal, err := stat.NewCalibrator(opts)
	if err != nil {
		return nil, fmt.Errorf("drift: %w", err)
	}
	s.calibrator, s.calibratorOpts = cal, opts
	return cal, nil
}

// truthNotifier sends the monitor's events through the webhook, when
// there is one.
func (s *Sidecar) truthNotifier(cfg *config.Config, margin float64) func(groundtruth.Event) {
	bi := buildinfo.Get()
	host, _ := os.Hostname()
	id := detector.Identity{Pod: os.Getenv("POD_NAME"), Namespace: os.Getenv("POD_NAMESPACE"), Host: host, Version: bi.Version}
	model := cfg.Model
	var windows []string
	for _, w := range cfg.Drift.Windows {
		windows = append(windows, w.String())
	}
	return func(ev groundtruth.Event) {
		s.log.Info("ground truth event", zap.String("event", ev.Kind), zap.String("route", ev.Route), zap.String("arm", ev.Arm),
			zap.String("metric", ev.Metric), zap.Float64("value", ev.Value))
		w := s.webhook.Load()
		if w == nil {
			return
		}
		p := detector.Payload{Model: model, Route: ev.Route, Arm: ev.Arm, Windows: windows, DriftAt: ev.At, Sidecar: id}
		switch ev.Kind {
		case groundtruth.EventPromotion:
			v := ev.Verdict
			p.Event = detector.EventPromotion
			p.Promotion = &detector.Promotion{Challenger: ev.Arm, Champion: s.liveArm(ev.Route), Paired: ev.Paired, Metric: v.Metric,
				Live: v.Champion, Candidate: v.Challenger, Difference: v.Difference, LowerBound: v.Lower, Margin: margin,
				PValue: v.PValue, N: v.N, Window: ev.Window}
		case groundtruth.EventPerformance:
			p.Event = detector.EventPerformanceDrift
			p.Performance = &detector.Performance{Window: ev.Window, Metric: ev.Metric, Value: ev.Value, Reference: ev.Reference, PValue: ev.PValue}
		case groundtruth.EventSLA:
			p.Event = detector.EventSLABreach
			p.Performance = &detector.Performance{Window: ev.Window, Metric: ev.Metric, Value: ev.Value, Limit: ev.Limit}
		default:
			return
		}
		w.Notify(p)
	}
}

// liveArm is the first arm of a route in the serving config.
func (s *Sidecar) liveArm(route string) string {
	for _, r := range s.cfg.Load().Routes {
		if r.Name == route && len(r.Split) > 0 {
			return r.Split[0].Upstream
		}
	}
	return ""
}

// feedbackHandler serves POST /api/v1/feedback with the ground truth now
// serving.
func (s *Sidecar) feedbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := s.truthNow.Load()
		if t == nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "ground_truth is not configured: labels have nothing to join"})
			return
		}
		t.feedback.ServeHTTP(w, r)
	})
}

// groundTruthAPI is /api/ground-truth.
func (s *Sidecar) groundTruthAPI() any {
	if t := s.truthNow.Load(); t != nil {
		return t.monitor.View()
	}
	return groundtruth.View{Routes: []groundtruth.RouteView{}}
}

// TickGroundTruth runs one ground-truth evaluation at now (for tests with
// ManualTicks).
func (s *Sidecar) TickGroundTruth(now time.Time) {
	if t := s.truthNow.Load(); t != nil {
		t.monitor.Tick(now)
	}
}

// truthGatherer gathers the metrics of the ground truth now serving.
type truthGatherer struct{ s *Sidecar }

func (g truthGatherer) Gather() ([]*dto.MetricFamily, error) {
	if t := g.s.truthNow.Load(); t != nil {
		return t.registry.Gather()
	}
	return nil, nil
}

// guardLabels is the canary guard's view of the labelled outcomes.
func (s *Sidecar) guardLabels(route, arm string) (wrong, labelled uint64, ok bool) {
	if t := s.truthNow.Load(); t != nil {
		return t.monitor.Labelled(route, arm)
	}
	return 0, 0, false
}

// recorders are a route's Recorder taps: the prediction log's and the
// ground truth's, nil when neither records it.
func recorders(logs *logRuntime, truth *truthRuntime, route string) proxy.Recorder {
	var rs proxy.Recorders
	if logs != nil {
		if r := logs.capture.Route(route); r != nil {
			rs = append(rs, r)
		}
	}
	if truth != nil {
		if r := truth.capture.Route(route); r != nil {
			rs = append(rs, r)
		}
	}
	switch len(rs) {
	case 0:
		return nil
	case 1:
		return rs[0]
	}
	return rs
}
