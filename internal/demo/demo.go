package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/sidecar"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// Options configure a demo run.
type Options struct {
	// Rate is the requests per second sent. Default 200.
	Rate int
	// Duration is how long traffic runs; 0 runs until ctx ends. Default 60s.
	Duration time.Duration
	// DriftAt is when drift is injected, from the start of traffic.
	// Default 25s.
	DriftAt time.Duration
	// Seed seeds the data, the models and the traffic. Default 1.
	Seed uint64
	// Listen and Admin are driftcar's addresses. Default 127.0.0.1:8080 and
	// 127.0.0.1:9901, or free ports when those are taken.
	Listen, Admin string
	// Disagreement is the designed share of shadow decisions that differ
	// from live. Default 0.08.
	Disagreement float64
	// Out receives the live view and summary. Default os.Stdout.
	Out io.Writer
	// Live redraws a full-screen view every second (for terminals);
	// otherwise a line is printed every 5 seconds.
	Live bool
	// Open prints the admin URL prominently (for a browser).
	Open bool
	// Dir keeps the generated config and reference; default a temp dir.
	Dir string
	// CalibrationTicks overrides the drift calibration budget.
	CalibrationTicks int
	// GRPC serves the models over gRPC (the Open Inference Protocol's
	// ModelInfer) and drives them through driftcar's gRPC listener.
	GRPC bool
	// GRPCListen is driftcar's gRPC address with GRPC. Default
	// 127.0.0.1:8081, or a free port when it is taken.
	GRPCListen string
}

func (o *Options) defaults() {
	if o.Rate <= 0 {
		o.Rate = 200
	}
	if o.DriftAt <= 0 {
		o.DriftAt = 25 * time.Second
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:8080"
	}
	if o.Admin == "" {
		o.Admin = "127.0.0.1:9901"
	}
	if o.GRPCListen == "" {
		o.GRPCListen = "127.0.0.1:8081"
	}
	if o.Disagreement <= 0 {
		o.Disagreement = 0.08
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.CalibrationTicks == 0 {
		o.CalibrationTicks = 60000
	}
}

// Drifted are the features the demo changes. The model output follows
// them (older applicants are approved more often), so its drift after the
// injection is expected too.
var Drifted = []string{"age", "country"}

// PredictionFeature is the name /api/drift gives the model output.
const PredictionFeature = "__prediction__"

// Result is what a demo run observed.
type Result struct {
	Requests, Errors uint64
	// DetectedAfter maps each feature that entered drift after the
	// injection to the delay; FalseAlarms lists features that entered
	// drift and were not drifted (or did before the injection).
	DetectedAfter map[string]time.Duration
	FalseAlarms   []string
	// Agreement is the observed shadow agreement (matching decisions) over
	// the run, AgreementBefore over the traffic before the injection, and
	// Designed the designed one on undrifted data.
	Agreement, AgreementBefore, Designed float64
	AdminURL                             string

	// Truth is each arm's labelled performance at the end, TruthBefore
	// just before the injection; ReferenceAccuracy is the live model's on
	// its training rows, which the performance tests judge against.
	Truth, TruthBefore []ArmTruth
	ReferenceAccuracy  float64
	// Window is the shortest window, which ArmTruth.Accuracy is over.
	Window string
	// Labels counts the labels sent and the feedback API's answers.
	Labels LabelCounts
	// PerformanceDetectedAfter is the delay from the injection to the
	// live arm's performance state entering drift, when
	// PerformanceDetected; PerformanceFalseAlarm reports that it was in
	// drift before the injection.
	PerformanceDetected      bool
	PerformanceDetectedAfter time.Duration
	PerformanceFalseAlarm    bool
}

// Arm returns the named arm's performance at the end.
func (r *Result) Arm(name string) ArmTruth {
	return (&truth{Arms: r.Truth}).arm(name)
}

// Run runs the demo until its duration passes or ctx ends.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	out := opts.Out
	fmt.Fprintln(out, "driftcar demo: training three models on seeded synthetic credit data ...")
	train, labels := newGenerator(opts.Seed).labelled(20000)
	live := trainModel(train, labels, 1e-3)
	canary := trainModel(train[:10000], labels[:10000], 1e-2)
	shadow := live.withFlips(opts.Disagreement)

	srv := &servers{}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.stop(sctx)
	}()
	var err error
	for _, s := range []struct {
		name string
		m    *model
		dst  **modelServer
	}{{"live", live, &srv.live}, {"canary", canary, &srv.canary}, {"shadow", shadow, &srv.shadow}} {
		if *s.dst, err = startModel(s.name, s.m); err != nil {
			return nil, err
		}
	}
	if opts.GRPC {
		for _, s := range []struct {
			name string
			m    *model
			dst  **grpcModel
		}{{"live", live, &srv.glive}, {"canary", canary, &srv.gcanary}, {"shadow", shadow, &srv.gshadow}} {
			if *s.dst, err = startGRPCModel(s.name, s.m); err != nil {
				return nil, err
			}
		}
	}

	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "driftcar-demo"); err != nil {
			return nil, fmt.Errorf("cannot create a work directory: %w", err)
		}
		defer func() { _ = os.RemoveAll(dir) }()
	}
	refPath := filepath.Join(dir, "reference.json")
	if err := writeReference(refPath, train, labels, live); err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "driftcar.yaml")
	listen, admin := freeOr(opts.Listen), freeOr(opts.Admin)
	yaml := configYAML(listen, admin, srv, refPath)
	if opts.GRPC {
		yaml = grpcConfigYAML(listen, freeOr(opts.GRPCListen), admin, srv, refPath)
	}
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		return nil, fmt.Errorf("cannot write the demo config: %w", err)
	}
	fmt.Fprintf(out, "driftcar demo: reference built from %d training rows; starting driftcar ...\n", len(train))
	sc, err := sidecar.New(sidecar.Options{ConfigPath: cfgPath, Logger: zap.NewNop(), CalibrationTicks: opts.CalibrationTicks})
	if err != nil {
		return nil, fmt.Errorf("cannot start driftcar: %w", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	scDone := make(chan error, 1)
	go func() { scDone <- sc.Run(runCtx, nil) }()
	defer func() {
		stop()
		if err := <-scDone; err != nil {
			fmt.Fprintf(opts.Out, "driftcar demo: driftcar stopped with an error: %v\n", err)
		}
	}()

	res := &Result{AdminURL: "http://" + sc.AdminAddr(), Designed: 1 - opts.Disagreement, DetectedAfter: map[string]time.Duration{}}
	printWhere(out, sc, opts)
	if err := waitReady(ctx, res.AdminURL); err != nil {
		return nil, err
	}

	tr := newTraffic(sc.ProxyAddr(), opts.Rate, opts.Seed+1)
	if opts.GRPC {
		if tr.cc, err = dialGRPC(sc.GRPCAddr()); err != nil {
			return nil, err
		}
		defer func() { _ = tr.cc.Close() }()
	}
	obs := newObserver(res.AdminURL)
	tr.labels = newLabeler(res.AdminURL)
	start := time.Now()
	driftAt := start.Add(opts.DriftAt)
	trafficCtx, stopTraffic := context.WithCancel(runCtx)
	defer stopTraffic()
	trafficDone, labelsDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(trafficDone); tr.run(trafficCtx, driftAt) }()
	go func() { defer close(labelsDone); tr.labels.run(trafficCtx) }()

	view := newView(out, opts.Live, opts)
	ticker := time.NewTicker(500 * time.Millisecond)
	defer ticker.Stop()
	var end <-chan time.Time
	if opts.Duration > 0 {
		end = time.After(opts.Duration)
	}
	lastPrint := time.Time{}
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-end:
			break loop
		case now := <-ticker.C:
			snap, err := obs.poll()
			if err != nil {
				continue
			}
			injected := now.After(driftAt)
			if !injected {
				res.AgreementBefore = snap.Agreement
			}
			res.observePerformance(snap.Truth, injected, now.Sub(driftAt))
			for _, f := range snap.Features {
				if f.State != "drift" {
					continue
				}
				if _, seen := res.DetectedAfter[f.Name]; seen || contains(res.FalseAlarms, f.Name) {
					continue
				}
				if injected && (contains(Drifted, f.Name) || f.Name == PredictionFeature) {
					res.DetectedAfter[f.Name] = now.Sub(driftAt)
				} else {
					res.FalseAlarms = append(res.FalseAlarms, f.Name)
				}
			}
			if now.Sub(lastPrint) >= view.every {
				view.render(now.Sub(start), opts.DriftAt, tr.stats(), snap, res)
				lastPrint = now
			}
		}
	}
	stopTraffic()
	<-trafficDone
	<-labelsDone
	st := tr.stats()
	res.Requests, res.Errors = st.sent, st.errors
	res.Labels = tr.labels.counts()
	if snap, err := obs.poll(); err == nil {
		res.Agreement = snap.Agreement
		res.Truth, res.ReferenceAccuracy, res.Window = snap.Truth.Arms, snap.Truth.Reference, snap.Truth.Window
	}
	summary(out, res, opts)
	return res, nil
}

// observePerformance follows the live arm's performance state: drift
// before the injection is a false alarm, the first after it a detection.
func (r *Result) observePerformance(t *truth, injected bool, sinceDrift time.Duration) {
	live := t.arm("live")
	switch {
	case !injected:
		r.TruthBefore = t.Arms
		r.PerformanceFalseAlarm = r.PerformanceFalseAlarm || live.State == "drift"
	case live.State == "drift" && !r.PerformanceDetected:
		r.PerformanceDetected, r.PerformanceDetectedAfter = true, sinceDrift
	}
}

func trainModel(rows []applicant, labels []float64, lambda float64) *model {
	return train(rows, labels, lambda, 300)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// decisions are the classes of the models' decision, in the order of
// their scores.
var decisions = []string{"reject", "approve"}

// writeReference builds the reference profile from the training rows,
// the live model's decisions on them and their outcomes (labels), so that
// it carries the live model's training accuracy.
func writeReference(path string, rows []applicant, labels []float64, live *model) error {
	var b strings.Builder
	b.WriteString("age,income,debt_ratio,country,channel,decision,outcome\n")
	for i, a := range rows {
		fmt.Fprintf(&b, "%g,%g,%g,%s,%s,%s,%s\n", a.Age, a.Income, a.DebtRatio, a.Country, a.Channel,
			decisionName(live.approve(a) >= 0.5), decisionName(labels[i] == 1))
	}
	specs := []payload.FeatureSpec{
		{Name: "age", Type: payload.Numeric},
		{Name: "income", Type: payload.Numeric},
		{Name: "debt_ratio", Type: payload.Numeric},
		{Name: "country", Type: payload.Categorical},
		{Name: "channel", Type: payload.Categorical},
	}
	p, err := sketch.BuildReference(strings.NewReader(b.String()), sketch.CSV, specs, sketch.BuildOptions{
		Prediction: &payload.PredictionSpec{Name: "decision", Type: payload.Categorical},
		Label:      &sketch.LabelSpec{Column: "outcome", Type: sketch.LabelCategorical, Classes: decisions},
	})
	if err != nil {
		return fmt.Errorf("cannot build the demo reference: %w", err)
	}
	return p.WriteFile(path)
}

func configYAML(listen, admin string, srv *servers, ref string) string {
	return fmt.Sprintf(`# Generated by driftcar demo.
listen: %s
admin: %s
model: credit-demo
upstreams:
  live:   { address: %s }
  canary: { address: %s }
  shadow: { address: %s, timeout: 2s, max_conns: 64 }
routes:
  - name: predict
    protocol: kserve-v1
    split:
      - { upstream: live,   weight: 90 }
      - { upstream: canary, weight: 10 }
    sticky: { header: x-user-id }
    shadow: { upstream: shadow, fraction: 1 }
    sample: { fraction: 1 }
features:
  - { name: age,        type: numeric }
  - { name: income,     type: numeric }
  - { name: debt_ratio, type: numeric }
  - { name: country,    type: categorical }
  - { name: channel,    type: categorical }
prediction: { name: decision, type: categorical, labels: [reject, approve] }
reference: { file: %s }
sketch: { slices: 60, slice_duration: 5s }
drift:
  windows: [30s, 2m]
  evaluate_every: 5s
  false_alarm_rate: 1/30d
  min_samples: 200
ground_truth:
  label: { type: categorical, classes: [reject, approve] }
  ttl: 2m
  max_entries: 200000
  min_labels: 200
canary_guard: { min_requests: 200, window: 1m }
`, listen, admin, srv.live.addr(), srv.canary.addr(), srv.shadow.addr(), ref)
}

// grpcConfigYAML is configYAML for models served over gRPC: the route
// matches the Open Inference service's methods on the gRPC listener, the
// features are the input tensors of the same names and the decision is
// the output's class scores.
func grpcConfigYAML(listen, grpcListen, admin string, srv *servers, ref string) string {
	return fmt.Sprintf(`# Generated by driftcar demo --grpc.
listen: %s
grpc_listen: %s
admin: %s
model: credit-demo
upstreams:
  live:   { address: %[4]s, grpc_address: %[4]s }
  canary: { address: %[5]s, grpc_address: %[5]s }
  shadow: { address: %[6]s, grpc_address: %[6]s, timeout: 2s, max_conns: 64 }
routes:
  - name: predict
    match: { path_prefix: /inference.GRPCInferenceService/ }
    protocol: open-inference-v2
    split:
      - { upstream: live,   weight: 90 }
      - { upstream: canary, weight: 10 }
    sticky: { header: x-user-id }
    shadow: { upstream: shadow, fraction: 1 }
    sample: { fraction: 1 }
features:
  - { name: age,        type: numeric }
  - { name: income,     type: numeric }
  - { name: debt_ratio, type: numeric }
  - { name: country,    type: categorical }
  - { name: channel,    type: categorical }
prediction: { name: decision, type: categorical, labels: [reject, approve] }
reference: { file: %[7]s }
sketch: { slices: 60, slice_duration: 5s }
drift:
  windows: [30s, 2m]
  evaluate_every: 5s
  false_alarm_rate: 1/30d
  min_samples: 200
ground_truth:
  label: { type: categorical, classes: [reject, approve] }
  ttl: 2m
  max_entries: 200000
  min_labels: 200
canary_guard: { min_requests: 200, window: 1m }
`, listen, grpcListen, admin, srv.glive.addr(), srv.gcanary.addr(), srv.gshadow.addr(), ref)
}
