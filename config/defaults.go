package config

import (
	"slices"
	"time"

	"github.com/driftcar/driftcar/internal/payload"
)

// The defaults, documented on the fields of Config, Upstream and Route.
const (
	defaultListen            = "0.0.0.0:8080"
	defaultAdmin             = "127.0.0.1:9901"
	defaultModel             = "model"
	defaultMaxRequestBody    = 16 << 20
	defaultDrainTimeout      = 20 * time.Second
	defaultTimeout           = 30 * time.Second
	defaultConnectTimeout    = time.Second
	defaultMaxConns          = 512
	defaultIdleTimeout       = 60 * time.Second
	defaultStreamIdleTimeout = 30 * time.Second
	defaultPathPrefix        = "/"
	defaultGRPCMessageBytes  = 64 << 20

	defaultShadowQueue      = 1024
	defaultShadowQueueBytes = 64 << 20
	defaultShadowMaxBody    = 1 << 20
	defaultShadowLiveBody   = 1 << 20
	defaultAbsTolerance     = 1e-6
	defaultRelTolerance     = 1e-4
	defaultSamplesKeep      = 100
	defaultSamplesMaxBody   = 4 << 10

	defaultSampleQueue   = 4096
	defaultSampleMaxBody = 1 << 20
	defaultSampleWorkers = 1
	defaultSketchSlices  = 60
	defaultSliceDuration = time.Minute
	defaultLearnFile     = "driftcar-reference.json"
	defaultLearnBins     = 20

	defaultEvaluateEvery  = 10 * time.Second
	defaultFalseAlarmRate = "1/30d"
	defaultMinSamples     = 200
	defaultTests          = "auto"
	defaultCorrection     = "holm"
	defaultCooldown       = 30 * time.Minute
	defaultWebhookTimeout = 5 * time.Second
	defaultWebhookRetries = 5
	defaultWebhookFormat  = "json"
	defaultAirflowAPI     = "v1"
	defaultMinRequests    = 500
	defaultErrorIncrease  = 0.02
	defaultP99Ratio       = 1.5
	defaultGuardWindow    = 5 * time.Minute
)

var defaultWindows = []Duration{Duration(5 * time.Minute), Duration(time.Hour)}

var (
	defaultShadowMethods = []string{"POST"}
	defaultStripHeaders  = []string{"authorization", "cookie"}
)

// Default returns a Config with the defaults of every top-level field and
// no upstreams or routes.
func Default() *Config {
	c := new(Config)
	applyDefaults(c, nil)
	return c
}

// applyDefaults fills each field that the input left out. A field the
// input sets keeps its value, even a zero one, so that "timeout: 0s" is
// reported by validate instead of silently becoming 30s. With a nil set,
// every zero field counts as left out.
func applyDefaults(c *Config, set lineIndex) {
	unset := func(p *fieldPath, zero bool) bool { return zero && !set.has(p) }
	root := rootPath
	if unset(root.key("listen"), c.Listen == "") {
		c.Listen = defaultListen
	}
	if unset(root.key("admin"), c.Admin == "") {
		c.Admin = defaultAdmin
	}
	if unset(root.key("model"), c.Model == "") {
		c.Model = defaultModel
	}
	if unset(root.key("max_request_body"), c.MaxRequestBody == 0) {
		c.MaxRequestBody = defaultMaxRequestBody
	}
	if unset(root.key("drain_timeout"), c.DrainTimeout == 0) {
		c.DrainTimeout = Duration(defaultDrainTimeout)
	}

	grpc := root.key("grpc")
	if unset(grpc.key("max_recv_message_bytes"), c.GRPC.MaxRecvMessageBytes == 0) {
		c.GRPC.MaxRecvMessageBytes = defaultGRPCMessageBytes
	}
	if unset(grpc.key("max_send_message_bytes"), c.GRPC.MaxSendMessageBytes == 0) {
		c.GRPC.MaxSendMessageBytes = defaultGRPCMessageBytes
	}

	ups := root.key("upstreams")
	for name, u := range c.Upstreams {
		p := ups.key(name)
		if unset(p.key("timeout"), u.Timeout == 0) {
			u.Timeout = Duration(defaultTimeout)
		}
		if unset(p.key("connect_timeout"), u.ConnectTimeout == 0) {
			u.ConnectTimeout = Duration(defaultConnectTimeout)
		}
		if unset(p.key("max_conns"), u.MaxConns == 0) {
			u.MaxConns = defaultMaxConns
		}
		if unset(p.key("idle_timeout"), u.IdleTimeout == 0) {
			u.IdleTimeout = Duration(defaultIdleTimeout)
		}
		if unset(p.key("stream_idle_timeout"), u.StreamIdleTimeout == 0) {
			u.StreamIdleTimeout = Duration(defaultStreamIdleTimeout)
		}
		c.Upstreams[name] = u
	}

	routes := root.key("routes")
	for i := range c.Routes {
		r, p := &c.Routes[i], routes.index(i)
		if unset(p.key("match").key("path_prefix"), r.Match.PathPrefix == "") {
			r.Match.PathPrefix = defaultPathPrefix
		}
		if unset(p.key("fallback"), r.Fallback == "") {
			r.Fallback = FallbackNone
			if len(r.Split) > 1 && r.Split[0].Upstream != "" {
				r.Fallback = r.Split[0].Upstream
			}
		}
		if unset(p.key("protocol"), r.Protocol == "") {
			r.Protocol = payload.KServeV1.String()
		}
		if r.Shadow != nil {
			shadowDefaults(r.Shadow, c.Upstreams, p.key("shadow"), unset)
		}
		if sm, q := r.Sample, p.key("sample"); sm != nil {
			if unset(q.key("queue"), sm.Queue == 0) {
				sm.Queue = defaultSampleQueue
			}
			if unset(q.key("max_body"), sm.MaxBody == 0) {
				sm.MaxBody = defaultSampleMaxBody
			}
			if unset(q.key("workers"), sm.Workers == 0) {
				sm.Workers = defaultSampleWorkers
			}
		}
	}

	sketch := root.key("sketch")
	if unset(sketch.key("slices"), c.Sketch.Slices == 0) {
		c.Sketch.Slices = defaultSketchSlices
	}
	if unset(sketch.key("slice_duration"), c.Sketch.SliceDuration == 0) {
		c.Sketch.SliceDuration = Duration(defaultSliceDuration)
	}
	cl := root.key("client")
	if unset(cl.key("read_timeout"), c.Client.ReadTimeout == 0) {
		c.Client.ReadTimeout = Duration(30 * time.Second)
	}
	if unset(cl.key("write_timeout"), c.Client.WriteTimeout == 0) {
		c.Client.WriteTimeout = Duration(60 * time.Second)
	}
	if unset(cl.key("idle_timeout"), c.Client.IdleTimeout == 0) {
		c.Client.IdleTimeout = Duration(90 * time.Second)
	}
	if unset(cl.key("max_header_bytes"), c.Client.MaxHeaderBytes == 0) {
		c.Client.MaxHeaderBytes = 16 << 10
	}
	driftDefaults(&c.Drift, root.key("drift"), unset)
	if c.Log != nil {
		logDefaults(c.Log, root.key("log"), unset)
	}
	if c.GroundTruth != nil {
		groundTruthDefaults(c.GroundTruth, root.key("ground_truth"), unset)
	}
	if g := c.CanaryGuard; g != nil {
		q := root.key("canary_guard")
		if g.Rollback == nil {
			g.Rollback = ptr(true)
		}
		if unset(q.key("min_requests"), g.MinRequests == 0) {
			g.MinRequests = defaultMinRequests
		}
		if g.MaxErrorRateIncrease == nil {
			g.MaxErrorRateIncrease = ptr(defaultErrorIncrease)
		}
		if unset(q.key("max_latency_p99_ratio"), g.MaxLatencyP99Ratio == 0) {
			g.MaxLatencyP99Ratio = defaultP99Ratio
		}
		if unset(q.key("max_ttft_p99_ratio"), g.MaxTTFTP99Ratio == 0) {
			g.MaxTTFTP99Ratio = defaultP99Ratio
		}
		if unset(q.key("max_prediction_drift"), g.MaxPredictionDrift == "") {
			g.MaxPredictionDrift = "auto"
		}
		if unset(q.key("window"), g.Window == 0) {
			g.Window = Duration(defaultGuardWindow)
		}
	}
	if ref := c.Reference; ref != nil && ref.Learn != nil {
		if ref.File == "" {
			ref.File = defaultLearnFile
		}
		if unset(root.key("reference").key("learn").key("bins"), ref.Learn.Bins == 0) {
			ref.Learn.Bins = defaultLearnBins
		}
	}

	samples := root.key("shadow_samples")
	if unset(samples.key("keep"), c.ShadowSamples.Keep == 0) {
		c.ShadowSamples.Keep = defaultSamplesKeep
	}
	if unset(samples.key("max_body"), c.ShadowSamples.MaxBody == 0) {
		c.ShadowSamples.MaxBody = defaultSamplesMaxBody
	}
	if c.ShadowSamples.RequestBodies == nil {
		c.ShadowSamples.RequestBodies = ptr(true)
	}
}

func shadowDefaults(s *Shadow, ups map[string]Upstream, p *fieldPath, unset func(*fieldPath, bool) bool) {
	if unset(p.key("queue"), s.Queue == 0) {
		s.Queue = defaultShadowQueue
	}
	if unset(p.key("queue_bytes"), s.QueueBytes == 0) {
		s.QueueBytes = defaultShadowQueueBytes
	}
	if unset(p.key("max_body"), s.MaxBody == 0) {
		s.MaxBody = defaultShadowMaxBody
	}
	if unset(p.key("max_live_body"), s.MaxLiveBody == 0) {
		s.MaxLiveBody = defaultShadowLiveBody
	}
	if unset(p.key("methods"), s.Methods == nil) {
		s.Methods = slices.Clone(defaultShadowMethods)
	}
	if s.StripHeaders == nil {
		s.StripHeaders = slices.Clone(defaultStripHeaders)
		if !unset(p.key("strip_headers"), true) {
			s.StripHeaders = []string{}
		}
	}
	up, known := ups[s.Upstream]
	if known && unset(p.key("workers"), s.Workers == 0) {
		s.Workers = up.MaxConns
	}
	if known && unset(p.key("pair_timeout"), s.PairTimeout == 0) {
		s.PairTimeout = up.Timeout
	}
	if s.Compare.AbsTolerance == nil {
		s.Compare.AbsTolerance = ptr(defaultAbsTolerance)
	}
	if s.Compare.RelTolerance == nil {
		s.Compare.RelTolerance = ptr(defaultRelTolerance)
	}
}

func ptr[T any](v T) *T { return &v }

func driftDefaults(d *Drift, p *fieldPath, unset func(*fieldPath, bool) bool) {
	if unset(p.key("windows"), d.Windows == nil) {
		d.Windows = slices.Clone(defaultWindows)
	}
	if unset(p.key("evaluate_every"), d.EvaluateEvery == 0) {
		d.EvaluateEvery = Duration(defaultEvaluateEvery)
	}
	if unset(p.key("false_alarm_rate"), d.FalseAlarmRate == "") {
		d.FalseAlarmRate = defaultFalseAlarmRate
	}
	if unset(p.key("min_samples"), d.MinSamples == 0) {
		d.MinSamples = defaultMinSamples
	}
	if unset(p.key("tests"), d.Tests == "") {
		d.Tests = defaultTests
	}
	if unset(p.key("correction"), d.Correction == "") {
		d.Correction = defaultCorrection
	}
	if w, q := d.Webhook, p.key("webhook"); w != nil {
		if unset(q.key("cooldown"), w.Cooldown == 0) {
			w.Cooldown = Duration(defaultCooldown)
		}
		if unset(q.key("timeout"), w.Timeout == 0) {
			w.Timeout = Duration(defaultWebhookTimeout)
		}
		if w.Retries == nil {
			w.Retries = ptr(defaultWebhookRetries)
		}
		if unset(q.key("format"), w.Format == "") {
			w.Format = defaultWebhookFormat
		}
		if a := w.Airflow; a != nil && unset(q.key("airflow").key("api_version"), a.APIVersion == "") {
			a.APIVersion = defaultAirflowAPI
		}
	}
}
