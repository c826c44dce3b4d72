package config

import "time"

// Config is one validated, defaulted configuration. A *Config returned by
// Parse or Load is immutable: callers must not modify it.
type Config struct {
	// Listen is the address for inference traffic. Default "0.0.0.0:8080".
	Listen string `yaml:"listen" json:"listen"`
	// Admin is the address of the admin server. Default "127.0.0.1:9901".
	Admin string `yaml:"admin" json:"admin"`
	// GRPCListen, when set, is the address of the gRPC inference listener,
	// which serves the same routes to the arms' grpc_address. Default: off.
	GRPCListen string `yaml:"grpc_listen,omitempty" json:"grpc_listen,omitempty"`
	// GRPC bounds the messages of the gRPC listener.
	GRPC GRPC `yaml:"grpc" json:"grpc"`
	// AdminToken, when set, is required as "Authorization: Bearer <token>"
	// by every /api and /debug endpoint of the admin server (/metrics and
	// the probes stay open). Default: none.
	AdminToken string `yaml:"admin_token,omitempty" json:"admin_token,omitempty"`
	// AdminTokenEnv names an environment variable holding the admin token
	// (for example from a Kubernetes Secret); it is read at startup.
	AdminTokenEnv string `yaml:"admin_token_env,omitempty" json:"admin_token_env,omitempty"`
	// Model is the value of the model label on every metric. Default "model".
	Model string `yaml:"model" json:"model"`
	// MaxRequestBody caps a client request body; larger bodies get 413.
	// Default 16MiB.
	MaxRequestBody ByteSize `yaml:"max_request_body" json:"max_request_body"`
	// DrainTimeout bounds how long SIGTERM waits for in-flight requests.
	// Default 20s.
	DrainTimeout Duration `yaml:"drain_timeout" json:"drain_timeout"`
	// Client bounds what a client may do on the inference listener.
	Client Client `yaml:"client" json:"client"`
	// Upstreams maps an upstream name to its connection settings.
	Upstreams map[string]Upstream `yaml:"upstreams" json:"upstreams"`
	// Routes are matched in order; the first match wins.
	Routes []Route `yaml:"routes" json:"routes"`
	// ShadowSamples bounds the mismatch samples kept for
	// /api/shadow/mismatches.
	ShadowSamples ShadowSamples `yaml:"shadow_samples" json:"shadow_samples"`
	// Features are the model inputs that sampling routes monitor.
	Features []Feature `yaml:"features,omitempty" json:"features"`
	// Prediction, when set, monitors the model output too.
	Prediction *Prediction `yaml:"prediction,omitempty" json:"prediction,omitempty"`
	// Reference is the distribution live traffic is compared with.
	// Required when a route samples.
	Reference *Reference `yaml:"reference,omitempty" json:"reference,omitempty"`
	// Sketch sizes the live state of every sampled feature.
	Sketch Sketch `yaml:"sketch" json:"sketch"`
	// Drift configures the drift tests on sampled routes. Default: on,
	// with the defaults below, whenever a route samples.
	Drift Drift `yaml:"drift" json:"drift"`
	// CanaryGuard, when set, compares each route's canary arms with its
	// first (live) arm and rolls a bad canary back.
	CanaryGuard *CanaryGuard `yaml:"canary_guard,omitempty" json:"canary_guard,omitempty"`
	// Log, when set, writes a record of logged requests to its sinks.
	Log *Log `yaml:"log,omitempty" json:"log,omitempty"`
	// GroundTruth, when set, joins labels with predictions to measure
	// each arm's performance. It needs Prediction.
	GroundTruth *GroundTruth `yaml:"ground_truth,omitempty" json:"ground_truth,omitempty"`
}

// Drift configures online drift detection.
type Drift struct {
	// Windows are sums of recent time slices; each must be a multiple of
	// sketch.slice_duration and fit in the ring. Default [5m, 1h].
	Windows []Duration `yaml:"windows" json:"windows"`
	// EvaluateEvery is the test tick. Default 10s.
	EvaluateEvery Duration `yaml:"evaluate_every" json:"evaluate_every"`
	// FalseAlarmRate is the wall-clock false-alarm budget per feature, as
	// "1/30d" (at most one false alarm in 30 days of stationary traffic).
	// Default 1/30d.
	FalseAlarmRate string `yaml:"false_alarm_rate" json:"false_alarm_rate"`
	// MinSamples: windows with fewer rows are "insufficient_data", never
	// "ok". Default 200.
	MinSamples int `yaml:"min_samples" json:"min_samples"`
	// Tests selects the tests; "auto" (the default) is binned KS, G-test
	// and PSI for numeric features, and G-test, L-inf and the unseen rate
	// for categorical ones.
	Tests string `yaml:"tests" json:"tests"`
	// Correction is the dataset-level multiple-testing correction: holm
	// (default) or bh.
	Correction string `yaml:"correction" json:"correction"`
	// Webhook, when set, is called when drift begins.
	Webhook *Webhook `yaml:"webhook,omitempty" json:"webhook,omitempty"`
}

// Webhook is the retraining hook.
type Webhook struct {
	// URL receives a JSON POST. Required.
	URL string `yaml:"url" json:"url"`
	// SecretEnv names the environment variable holding the HMAC-SHA256
	// key of the X-Driftcar-Signature header. Optional.
	SecretEnv string `yaml:"secret_env,omitempty" json:"secret_env,omitempty"`
	// Cooldown is the least time between two calls for the same route.
	// Default 30m.
	Cooldown Duration `yaml:"cooldown" json:"cooldown"`
	// Timeout bounds one attempt. Default 5s.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// Retries after a failed attempt, with exponential backoff. Default 5.
	Retries *int `yaml:"retries" json:"retries"`
	// Format is the request shape: json (the event as the body, the
	// default), cloudevents (a binary-mode CloudEvent), airflow (a DAG
	// run), argo-workflows (a submit from a WorkflowTemplate) or kubeflow
	// (a pipeline run). The presets other than json and cloudevents need
	// their block below.
	Format string `yaml:"format" json:"format"`
	// Airflow names the DAG of format airflow.
	Airflow *WebhookAirflow `yaml:"airflow,omitempty" json:"airflow,omitempty"`
	// ArgoWorkflows names the WorkflowTemplate of format argo-workflows.
	ArgoWorkflows *WebhookArgo `yaml:"argo_workflows,omitempty" json:"argo_workflows,omitempty"`
	// Kubeflow names the pipeline version of format kubeflow.
	Kubeflow *WebhookKubeflow `yaml:"kubeflow,omitempty" json:"kubeflow,omitempty"`
	// Auth, when set, sends credentials read from the environment at
	// load; a variable that is unset or empty is an error. Default: none.
	Auth *WebhookAuth `yaml:"auth,omitempty" json:"auth,omitempty"`
	// When, when set, calls the webhook only while every condition holds
	// for the drifting route. Default: on drift alone.
	When *WebhookWhen `yaml:"when,omitempty" json:"when,omitempty"`
}

// WebhookAirflow is the target of format airflow: POST
// {url}/api/{api_version}/dags/{dag_id}/dagRuns with the event as conf.
type WebhookAirflow struct {
	// DagID is the DAG to run. Required.
	DagID string `yaml:"dag_id" json:"dag_id"`
	// APIVersion is v1 (Airflow 2) or v2 (Airflow 3). Default v1.
	APIVersion string `yaml:"api_version" json:"api_version"`
}

// WebhookArgo is the target of format argo-workflows: POST
// {url}/api/v1/workflows/{namespace}/submit of the template with the
// parameters route, model and event (the event as JSON).
type WebhookArgo struct {
	// Namespace of the WorkflowTemplate. Required.
	Namespace string `yaml:"namespace" json:"namespace"`
	// Template is the WorkflowTemplate's name. Required.
	Template string `yaml:"template" json:"template"`
}

// WebhookKubeflow is the target of format kubeflow: POST
// {url}/apis/v2beta1/runs of the pipeline version, with the event's fields
// as runtime parameters.
type WebhookKubeflow struct {
	// PipelineID and PipelineVersionID name the pipeline version. Required.
	PipelineID        string `yaml:"pipeline_id" json:"pipeline_id"`
	PipelineVersionID string `yaml:"pipeline_version_id" json:"pipeline_version_id"`
	// ExperimentID, when set, files the run under that experiment.
	// Default: the server's default experiment.
	ExperimentID string `yaml:"experiment_id,omitempty" json:"experiment_id,omitempty"`
}

// WebhookAuth holds the webhook's credentials: exactly one of a bearer
// token and basic auth. The X-Driftcar-Signature of secret_env is sent
// either way.
type WebhookAuth struct {
	// BearerTokenEnv names the variable holding the token sent as
	// "Authorization: Bearer <token>".
	BearerTokenEnv string `yaml:"bearer_token_env,omitempty" json:"bearer_token_env,omitempty"`
	// Basic sends HTTP basic auth.
	Basic *WebhookBasicAuth `yaml:"basic,omitempty" json:"basic,omitempty"`
}

// WebhookBasicAuth is a user name and the variable holding its password.
type WebhookBasicAuth struct {
	Username    string `yaml:"username" json:"username"`
	PasswordEnv string `yaml:"password_env" json:"password_env"`
}

// WebhookWhen is a multi-condition trigger: every condition of All must
// hold at once.
type WebhookWhen struct {
	All []WebhookCondition `yaml:"all" json:"all"`
}

// WebhookCondition is one condition of a trigger; exactly one field is
// set. A signal the sidecar cannot measure for the route (no shadow, no
// traffic) does not hold.
type WebhookCondition struct {
	// Drift: the route is drifting. Only true is accepted.
	Drift *bool `yaml:"drift,omitempty" json:"drift,omitempty"`
	// LatencyP99RatioAbove: the route's p99 latency over its baseline p99
	// is above this ratio.
	LatencyP99RatioAbove *float64 `yaml:"latency_p99_ratio_above,omitempty" json:"latency_p99_ratio_above,omitempty"`
	// ShadowAgreementBelow: the share of shadow comparisons that match is
	// below this floor (0..1).
	ShadowAgreementBelow *float64 `yaml:"shadow_agreement_below,omitempty" json:"shadow_agreement_below,omitempty"`
	// ErrorRateAbove: the route's share of failed requests is above this
	// rate (0..1).
	ErrorRateAbove *float64 `yaml:"error_rate_above,omitempty" json:"error_rate_above,omitempty"`
}

// CanaryGuard compares canary arms with the live arm.
type CanaryGuard struct {
	// Rollback sets a breaching canary's weight to 0 until the config
	// changes. Default true.
	Rollback *bool `yaml:"rollback" json:"rollback"`
	// MinRequests each arm needs in the window before judging. Default 500.
	MinRequests int `yaml:"min_requests" json:"min_requests"`
	// MaxErrorRateIncrease is the tolerated canary-minus-live 5xx rate.
	// Default 0.02.
	MaxErrorRateIncrease *float64 `yaml:"max_error_rate_increase" json:"max_error_rate_increase"`
	// MaxLatencyP99Ratio is the tolerated canary/live p99 ratio. Default 1.5.
	MaxLatencyP99Ratio float64 `yaml:"max_latency_p99_ratio" json:"max_latency_p99_ratio"`
	// MaxTTFTP99Ratio is the tolerated canary/live p99 ratio of the time
	// to the first token of streamed answers, on openai routes. Default
	// 1.5.
	MaxTTFTP99Ratio float64 `yaml:"max_ttft_p99_ratio" json:"max_ttft_p99_ratio"`
	// MaxPredictionDrift is "auto" (the drift tests, live as reference) or
	// "off". Default auto.
	MaxPredictionDrift string `yaml:"max_prediction_drift" json:"max_prediction_drift"`
	// Window is how much recent traffic is judged. Default 5m.
	Window Duration `yaml:"window" json:"window"`
	// MaxAccuracyDrop rolls a canary back when its accuracy is
	// significantly lower than live's by more than this (0..1). It needs
	// ground_truth with a binary or categorical label. Default: off.
	MaxAccuracyDrop *float64 `yaml:"max_accuracy_drop" json:"max_accuracy_drop,omitempty"`
}

// Feature is one monitored model input.
type Feature struct {
	// Name is the feature's label value and its default key: the v1
	// instance key, the v2 input tensor, the CSV column. Required.
	Name string `yaml:"name" json:"name"`
	// Type is numeric or categorical. Required.
	Type string `yaml:"type" json:"type"`
	// Path is a JSON path into the request body, e.g.
	// "instances[*].income", overriding the protocol default.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Tensor names the Open Inference v2 input tensor holding the feature
	// (default: Name).
	Tensor string `yaml:"tensor,omitempty" json:"tensor,omitempty"`
	// Column is the element within one row of that tensor. Default 0.
	Column int `yaml:"column,omitempty" json:"column,omitempty"`
}

// Feature types.
const (
	TypeNumeric     = "numeric"
	TypeCategorical = "categorical"
)

// Prediction is the monitored model output.
type Prediction struct {
	// Type is numeric (value, or the top score of class scores) or
	// categorical (label, or the argmax class). Required.
	Type string `yaml:"type" json:"type"`
	// Name is the reference column of the output. Default "prediction".
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Path is a JSON path into the response body, e.g.
	// "predictions[*].score" or "result.scores" (whose elements are the
	// rows). Default: v1 predictions (or outputs), v2 the first output.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Output names the v2 output tensor. Default: the first.
	Output string `yaml:"output,omitempty" json:"output,omitempty"`
	// Labels name the classes of class scores by index.
	Labels []string `yaml:"labels,omitempty" json:"labels,omitempty"`
}

// Reference locates the reference profile: a file built by
// `driftcar reference build`, or one learned from the first live samples.
type Reference struct {
	// File is the profile. With Learn, it is written once learned and
	// reused after a restart. Required without Learn; default
	// "driftcar-reference.json" with it.
	File string `yaml:"file" json:"file"`
	// Learn builds the profile from live traffic.
	Learn *Learn `yaml:"learn,omitempty" json:"learn,omitempty"`
}

// Learn builds the reference from the first live samples.
type Learn struct {
	// Samples is the number of rows learned. Required, >= 100.
	Samples int `yaml:"samples" json:"samples"`
	// Bins is the number of quantile bins of numeric features. Default 20.
	Bins int `yaml:"bins" json:"bins"`
}

// Sketch sizes the live state: a ring of Slices time slices of
// SliceDuration each; drift windows are sums of recent slices.
type Sketch struct {
	// Slices defaults to 60.
	Slices int `yaml:"slices" json:"slices"`
	// SliceDuration defaults to 1m.
	SliceDuration Duration `yaml:"slice_duration" json:"slice_duration"`
}

// ShadowSamples configures the ring of recent live/shadow disagreements.
type ShadowSamples struct {
	// Keep is how many samples are kept. Default 100; 0 keeps none.
	Keep int `yaml:"keep" json:"keep"`
	// MaxBody cuts each stored body. Default 4KiB.
	MaxBody ByteSize `yaml:"max_body" json:"max_body"`
	// RequestBodies stores request bodies too. Default true.
	RequestBodies *bool `yaml:"request_bodies" json:"request_bodies"`
}

// GRPC bounds the gRPC listener's messages, both towards the client and
// towards the upstreams.
type GRPC struct {
	// MaxRecvMessageBytes caps one message received, from a client or an
	// upstream; larger ones fail with RESOURCE_EXHAUSTED. Default 64MiB,
	// the limit Triton's clients set.
	MaxRecvMessageBytes ByteSize `yaml:"max_recv_message_bytes" json:"max_recv_message_bytes"`
	// MaxSendMessageBytes caps one message sent. Default 64MiB.
	MaxSendMessageBytes ByteSize `yaml:"max_send_message_bytes" json:"max_send_message_bytes"`
}

// Client limits the inference listener's clients.
type Client struct {
	// ReadTimeout bounds reading one request, head and body (slow
	// clients get 408 and are closed). Default 30s.
	ReadTimeout Duration `yaml:"read_timeout" json:"read_timeout"`
	// WriteTimeout bounds writing one response. Default 60s.
	WriteTimeout Duration `yaml:"write_timeout" json:"write_timeout"`
	// IdleTimeout closes keep-alive connections idle for longer. Default 90s.
	IdleTimeout Duration `yaml:"idle_timeout" json:"idle_timeout"`
	// MaxHeaderBytes caps the request line and headers; larger ones get
	// 400 (431 semantics). Default 16KiB.
	MaxHeaderBytes ByteSize `yaml:"max_header_bytes" json:"max_header_bytes"`
}

// Upstream is a model server that routes send traffic to.
type Upstream struct {
	// Address is host:port. Required unless Addresses is set.
	Address string `yaml:"address" json:"address"`
	// Addresses, when set, are several endpoints of the same model; each
	// request goes to the least loaded one. Address, if also set, must be
	// one of them.
	Addresses []string `yaml:"addresses,omitempty" json:"addresses,omitempty"`
	// Timeout bounds one upstream call, from send to the end of the
	// response; for a streamed response, to its first byte. Default 30s.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// StreamIdleTimeout bounds the gap between two chunks of a streamed
	// response; a stream runs as long as it keeps moving. Default 30s (0 in
	// a config built in code means the default).
	StreamIdleTimeout Duration `yaml:"stream_idle_timeout" json:"stream_idle_timeout"`
	// ConnectTimeout bounds dialing a new connection. Default 1s.
	ConnectTimeout Duration `yaml:"connect_timeout" json:"connect_timeout"`
	// GRPCAddress is the host:port of the upstream's gRPC service, used by
	// the gRPC listener. Required on every arm of a route that serves gRPC.
	GRPCAddress string `yaml:"grpc_address,omitempty" json:"grpc_address,omitempty"`
	// MaxConns caps open connections to the upstream. Default 512.
	MaxConns int `yaml:"max_conns" json:"max_conns"`
	// IdleTimeout closes keep-alive connections idle for longer. Default 60s.
	IdleTimeout Duration `yaml:"idle_timeout" json:"idle_timeout"`
}

// Token returns the admin token: AdminToken, else the value of the
// variable AdminTokenEnv names.
func (c *Config) Token(getenv func(string) string) string {
	if c.AdminToken != "" || c.AdminTokenEnv == "" {
		return c.AdminToken
	}
	return getenv(c.AdminTokenEnv)
}

// Endpoints returns the upstream's addresses: Addresses, or Address.
func (u *Upstream) Endpoints() []string {
	if len(u.Addresses) > 0 {
		return u.Addresses
	}
	return []string{u.Address}
}

// Route sends requests whose path matches to one of its split arms.
type Route struct {
	// Name identifies the route in metrics and errors. Required.
	Name string `yaml:"name" json:"name"`
	// Match selects requests. Default: every path.
	Match Match `yaml:"match" json:"match"`
	// Split lists the arms and their weights. At least one arm.
	Split []Arm `yaml:"split" json:"split"`
	// Sticky, when set, picks the arm by a consistent hash of a key
	// instead of at random.
	Sticky *Sticky `yaml:"sticky,omitempty" json:"sticky,omitempty"`
	// Fallback names the arm that takes a request another arm failed to
	// serve, or "none". Default: the upstream of the first arm of Split
	// when Split has more than one arm, else "none".
	Fallback string `yaml:"fallback" json:"fallback"`
	// ArmOverride lets clients choose the arm with the x-driftcar-arm
	// header. Default false.
	ArmOverride bool `yaml:"arm_override" json:"arm_override"`
	// Protocol is the payload format, a name registered in the payload
	// package: kserve-v1 (default), open-inference-v2 or json.
	Protocol string `yaml:"protocol" json:"protocol"`
	// Shadow, when set, mirrors a fraction of requests to a shadow model
	// and compares its predictions with the live ones.
	Shadow *Shadow `yaml:"shadow,omitempty" json:"shadow,omitempty"`
	// Sample, when set, feeds a fraction of requests and their responses
	// to the feature sketches.
	Sample *Sample `yaml:"sample,omitempty" json:"sample,omitempty"`
	// Log overrides the prediction log's settings for this route.
	Log *RouteLog `yaml:"log,omitempty" json:"log,omitempty"`
}

// Sample configures feature sampling of one route.
type Sample struct {
	// Fraction of requests sampled, 0..1, by a hash of x-request-id.
	// Required.
	Fraction *float64 `yaml:"fraction" json:"fraction"`
	// Queue bounds the copies waiting to be decoded; when full, copies are
	// dropped and counted. Default 4096.
	Queue int `yaml:"queue" json:"queue"`
	// MaxBody: requests or responses with larger bodies are not sampled.
	// Default 1MiB.
	MaxBody ByteSize `yaml:"max_body" json:"max_body"`
	// Workers decode copies. Default 1.
	Workers int `yaml:"workers" json:"workers"`
}

// Shadow configures mirroring of one route.
type Shadow struct {
	// Upstream names the shadow model in Config.Upstreams. Required.
	Upstream string `yaml:"upstream" json:"upstream"`
	// Fraction of requests mirrored, 0..1, by a hash of x-request-id.
	// Required.
	Fraction *float64 `yaml:"fraction" json:"fraction"`
	// Queue bounds the copies waiting for a worker; when full, copies are
	// dropped and counted. Default 1024.
	Queue int `yaml:"queue" json:"queue"`
	// QueueBytes bounds the bytes of request copies held at once. Default
	// 64MiB.
	QueueBytes ByteSize `yaml:"queue_bytes" json:"queue_bytes"`
	// MaxBody: requests with larger bodies are not mirrored. Default 1MiB.
	MaxBody ByteSize `yaml:"max_body" json:"max_body"`
	// MaxLiveBody caps the live response copy kept for comparison.
	// Default 1MiB.
	MaxLiveBody ByteSize `yaml:"max_live_body" json:"max_live_body"`
	// Methods are the request methods mirrored. Default [POST].
	Methods []string `yaml:"methods" json:"methods"`
	// StripHeaders are removed from mirrored requests. Default
	// [authorization, cookie]; [] forwards every header.
	StripHeaders []string `yaml:"strip_headers" json:"strip_headers"`
	// Workers send copies to the shadow. Default: the shadow upstream's
	// max_conns.
	Workers int `yaml:"workers" json:"workers"`
	// PairTimeout bounds how long a shadow response waits for its live
	// partner. Default: the shadow upstream's timeout.
	PairTimeout Duration `yaml:"pair_timeout" json:"pair_timeout"`
	// Compare sets when predictions match.
	Compare Compare `yaml:"compare" json:"compare"`
}

// Compare says when a live prediction a and a shadow prediction b match:
// |a-b| <= abs_tolerance + rel_tolerance*|a|; labels and class-score
// argmaxes must be equal.
type Compare struct {
	// AbsTolerance defaults to 1e-6.
	AbsTolerance *float64 `yaml:"abs_tolerance" json:"abs_tolerance"`
	// RelTolerance defaults to 1e-4.
	RelTolerance *float64 `yaml:"rel_tolerance" json:"rel_tolerance"`
	// Path selects the compared predictions, in the dialect of
	// prediction.path, e.g. "result.scores" or "outputs[0].data". Default:
	// prediction.path, else the protocol's layout; required for json
	// without prediction.path. It must not differ from prediction.path.
	Path string `yaml:"path" json:"path,omitempty"`
}

// Match selects requests for a route.
type Match struct {
	// PathPrefix matches paths that start with it. Default "/".
	PathPrefix string `yaml:"path_prefix" json:"path_prefix"`
}

// Arm is one weighted target of a route's split.
type Arm struct {
	// Upstream names an entry of Config.Upstreams. Required.
	Upstream string `yaml:"upstream" json:"upstream"`
	// Weight is an integer >= 0; weight 0 pauses the arm. Required.
	Weight *int `yaml:"weight" json:"weight"`
}

// Sticky names the request key for consistent arm choice. Exactly one
// field is set.
type Sticky struct {
	Header string `yaml:"header,omitempty" json:"header,omitempty"`
	Cookie string `yaml:"cookie,omitempty" json:"cookie,omitempty"`
	Query  string `yaml:"query,omitempty" json:"query,omitempty"`
}

// FallbackNone disables fallback for a route.
const FallbackNone = "none"

// ArmOverrideHeader is the request header that picks an arm when a route
// allows it.
const ArmOverrideHeader = "x-driftcar-arm"

// Duration is a time.Duration written as "1s", "250ms" or "2m".
type Duration time.Duration

// ByteSize is a size in bytes written as 1048576, "512KiB", "1MiB" or "1GiB".
type ByteSize int64
