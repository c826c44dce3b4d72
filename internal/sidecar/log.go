package sidecar

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/groundtruth"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/predlog"
	"github.com/driftcar/driftcar/shadow"
	"go.uber.org/zap"
)

// logRuntime is the running prediction log of one config: the sinks'
// Log and the Capture in front of it.
type logRuntime struct {
	sinks   []config.LogSink // what the Log was built from
	log     *predlog.Log
	capKey  captureKey
	capture *predlog.Capture
}

// captureKey is what a Capture depends on: the same key keeps it.
type captureKey struct {
	log        config.Log
	routes     []predlog.CaptureRoute
	features   []payload.FeatureSpec
	prediction *payload.PredictionSpec
	model      string
}

// startLog returns the prediction log of cfg: the running one when
// nothing it depends on changed, else a new Capture (and, when the sinks
// changed, a new Log). Retired parts are returned to be stopped after
// the proxy has swapped.
func (s *Sidecar) startLog(cfg *config.Config) (next *logRuntime, retire func(), err error) {
	old := s.logs
	if cfg.Log == nil {
		return nil, func() { old.stop() }, nil
	}
	next = &logRuntime{}
	if old != nil && reflect.DeepEqual(old.sinks, cfg.Log.Sinks) {
		next.sinks, next.log = old.sinks, old.log
	} else {
		if next.log, err = s.newLog(cfg); err != nil {
			return nil, nil, err
		}
		next.sinks = cfg.Log.Sinks
	}
	key, err := captureKeyOf(cfg)
	if err != nil {
		next.stopLogIfNew(old)
		return nil, nil, err
	}
	if old != nil && old.log == next.log && reflect.DeepEqual(old.capKey, key) {
		next.capKey, next.capture = old.capKey, old.capture
		return next, func() {}, nil
	}
	redactor, err := payload.NewRedactor(cfg.Log.Redact.Drop, cfg.Log.Redact.Hash)
	if err != nil { // validated
		next.stopLogIfNew(old)
		return nil, nil, fmt.Errorf("log.redact: %w", err)
	}
	headers := make([]string, len(cfg.Log.Headers))
	for i, h := range cfg.Log.Headers {
		headers[i] = http.CanonicalHeaderKey(h)
	}
	next.capKey = key
	next.capture, err = predlog.NewCapture(predlog.CaptureOptions{
		Model: cfg.Model, Log: next.log, Routes: key.routes,
		Features: key.features, Prediction: key.prediction,
		Errors: *cfg.Log.Errors, Mismatches: *cfg.Log.Mismatches,
		Bodies: cfg.Log.Bodies, MaxBody: int(cfg.Log.MaxBody), Redactor: redactor,
		Headers: headers, Queue: cfg.Log.Queue, ShadowWait: shadowWait(cfg),
		Logger: s.log.Named("log"), Panics: s.panics, Now: s.opts.Now,
	})
	if err != nil {
		next.stopLogIfNew(old)
		return nil, nil, err
	}
	return next, func() {
		if old == nil {
			return
		}
		old.capture.Stop()
		if old.log != next.log {
			old.closeLog()
		}
	}, nil
}

// stopNew stops what startLog started for r that old does not share.
func (r *logRuntime) stopNew(old *logRuntime) {
	if r == nil {
		return
	}
	if old == nil || old.capture != r.capture {
		r.capture.Stop()
	}
	r.stopLogIfNew(old)
}

// stopLogIfNew closes the Log of r when it is not old's.
func (r *logRuntime) stopLogIfNew(old *logRuntime) {
	if old == nil || old.log != r.log {
		r.closeLog()
	}
}

func (r *logRuntime) closeLog() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.log.Close(ctx)
}

// stop stops the capture, then drains the sinks.
func (r *logRuntime) stop() {
	if r == nil {
		return
	}
	r.capture.Stop()
	r.closeLog()
}

func captureKeyOf(cfg *config.Config) (captureKey, error) {
	features, pred, err := cfg.PayloadSpecs()
	if err != nil {
		return captureKey{}, err
	}
	k := captureKey{log: *cfg.Log, features: features, prediction: pred, model: cfg.Model}
	k.log.Sinks = nil
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		proto, err := r.PayloadProtocol()
		if err != nil {
			return captureKey{}, fmt.Errorf("routes[%d].protocol: %w", i, err)
		}
		f := *cfg.Log.Fraction
		if r.Log != nil && r.Log.Fraction != nil {
			f = *r.Log.Fraction
		}
		k.routes = append(k.routes, predlog.CaptureRoute{Name: r.Name, Protocol: proto, Fraction: f, Live: r.Split[0].Upstream})
	}
	return k, nil
}

// shadowWait is how long a mirrored request's record waits for its
// shadow: the slowest shadow's timeout plus its pair timeout, and a
// margin for the queues.
func shadowWait(cfg *config.Config) time.Duration {
	wait := time.Duration(0)
	for _, r := range cfg.Routes {
		if r.Shadow == nil {
			continue
		}
		u := cfg.Upstreams[r.Shadow.Upstream]
		wait = max(wait, time.Duration(u.Timeout)+time.Duration(r.Shadow.PairTimeout))
	}
	return wait + 5*time.Second
}

// newLog builds the sinks of cfg and the Log over them.
func (s *Sidecar) newLog(cfg *config.Config) (*predlog.Log, error) {
	var specs []predlog.SinkSpec
	closeAll := func() {
		for _, sp := range specs {
			_ = sp.Sink.Close(context.Background())
		}
	}
	for i := range cfg.Log.Sinks {
		sc := &cfg.Log.Sinks[i]
		sink, err := s.newSink(cfg, sc)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("log.sinks[%d] (%s): %w", i, sc.Name, err)
		}
		specs = append(specs, predlog.SinkSpec{Name: sc.Name, Sink: sink, Queue: predlog.QueueOptions{
			MaxRecords: sc.Queue, MaxBytes: int64(sc.QueueBytes), BatchSize: sc.Batch, MaxAttempts: *sc.Retries + 1,
			WriteTimeout: time.Duration(sc.Timeout),
		}})
	}
	l, err := predlog.New(s.log.Named("log"), s.logMetrics, specs...)
	if err != nil {
		closeAll()
		return nil, err
	}
	return l, nil
}

func (s *Sidecar) newSink(cfg *config.Config, sc *config.LogSink) (predlog.Sink, error) {
	switch sc.Type {
	case config.SinkFile:
		return predlog.NewFileSink(predlog.FileOptions{
			Path: sc.Path, MaxSizeMB: int(sc.MaxSize >> 20), MaxAge: time.Duration(sc.MaxAge),
			MaxBackups: sc.MaxBackups, Compress: *sc.Compress, MaxTotalBytes: int64(sc.MaxTotal),
		})
	case config.SinkCloudEvents:
		source, ns := sc.Source, sc.Namespace
		if source == "" {
			source = cfg.Model
		}
		if ns == "" {
			ns = os.Getenv("POD_NAMESPACE")
		}
		return predlog.NewCloudEventsSink(predlog.CloudEventsOptions{
			URL: sc.URL, Source: source, Mode: sc.Events, InferenceService: sc.InferenceService,
			Namespace: ns, Component: sc.Component, Timeout: time.Duration(sc.Timeout),
		})
	case config.SinkKafka:
		return s.newKafkaSink(cfg, sc)
	}
	return nil, fmt.Errorf("unknown sink type %q", sc.Type)
}

// liveAnswers forwards the shadow fleet's answers to the capture now
// serving, and counts each route's agreement for the webhook's
// conditions; the fleet outlives every config.
type liveAnswers struct {
	capture atomic.Pointer[predlog.Capture]
	truth   atomic.Pointer[groundtruth.Capture]
	agree   sync.Map // route → *agreement
}

func (a *liveAnswers) ShadowAnswer(ans *shadow.Answer) {
	switch ans.Outcome {
	case "match", "mismatch", "undecodable", "status_mismatch":
		ag, ok := a.agree.Load(ans.Route)
		if !ok {
			ag, _ = a.agree.LoadOrStore(ans.Route, new(agreement))
		}
		ag.(*agreement).compared.Add(1)
		if ans.Outcome == "match" {
			ag.(*agreement).matched.Add(1)
		}
	}
	if c := a.capture.Load(); c != nil {
		c.ShadowAnswer(ans)
	}
	if c := a.truth.Load(); c != nil {
		c.ShadowAnswer(ans)
	}
}

// agreement returns route's counts, or nil before its first comparison.
func (a *liveAnswers) agreement(route string) *agreement {
	if ag, ok := a.agree.Load(route); ok {
		return ag.(*agreement)
	}
	return nil
}

// logDetail is the readiness detail of the prediction log's sinks.
func (s *Sidecar) logDetail() []string {
	rt := s.logNow.Load()
	if rt == nil {
		return nil
	}
	if err := rt.log.Ready(); err != nil {
		return []string{"prediction log: " + err.Error()}
	}
	return nil
}

func (s *Sidecar) newKafkaSink(_ *config.Config, sc *config.LogSink) (predlog.Sink, error) {
	o := predlog.KafkaOptions{
		Brokers: sc.Brokers, Topic: sc.Topic, Compression: sc.Compression, Acks: sc.Acks,
		Idempotent: sc.Idempotent, AutoCreateTopics: true,
	}
	if t := sc.TLS; t != nil {
		o.TLS = &predlog.KafkaTLS{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile, ServerName: t.ServerName}
	}
	if a := sc.SASL; a != nil {
		o.SASL = &predlog.KafkaSASL{Mechanism: a.Mechanism, User: a.Username, PasswordEnv: a.PasswordEnv}
	}
	return predlog.NewKafkaSink(o)
}

// reportSinks logs a change in the prediction log's readiness; last is
// the previous report ("" for ready).
func (s *Sidecar) reportSinks(last *string) {
	msg := ""
	if rt := s.logNow.Load(); rt != nil {
		if err := rt.log.Ready(); err != nil {
			msg = err.Error()
		}
	}
	switch {
	case msg == *last:
		return
	case msg != "":
		s.log.Warn("prediction log sink not ready: driftcar keeps serving, and the sink's records are dropped and counted when its queue fills",
			zap.String("reason", msg))
	default:
		s.log.Info("prediction log sinks ready")
	}
	*last = msg
}
