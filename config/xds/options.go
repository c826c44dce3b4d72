package xds

import (
	"errors"
	"fmt"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/internal/backoff"
)

// ExtensionName is the name of the ECDS TypedExtensionConfig that carries
// the rest of driftcar's config.
const ExtensionName = "driftcar"

// ConfigTypeURL is the type_url of the TypedStruct inside the driftcar
// TypedExtensionConfig. Its value is a google.protobuf.Struct in the
// schema of the YAML config file.
const ConfigTypeURL = "type.googleapis.com/driftcar.v1.Config"

// Defaults of Options.
const (
	DefaultResourceTimeout = 15 * time.Second
)

var (
	// reconnectBackoff paces stream attempts and gRPC's own reconnects.
	reconnectBackoff = backoff.Policy{Initial: time.Second, Max: 30 * time.Second, Multiplier: 1.6, Jitter: 0.2}
	// nackBackoff paces repeated NACKs of one version.
	nackBackoff = backoff.Policy{Initial: 100 * time.Millisecond, Max: 5 * time.Second, Multiplier: 2}
)

// Options configure a Client.
type Options struct {
	// Server is the control plane's host:port. Required.
	Server string
	// Node identifies this sidecar to the control plane; Id is required.
	// NodeFromEnv builds one from flags and the environment.
	Node *corev3.Node
	// Base is the YAML of the --config file, possibly holding only listen,
	// admin and model. It is the bottom layer of every config the client
	// builds (see the package documentation for the precedence). Nil
	// means an empty document: every field takes its default.
	Base []byte
	// Apply installs a config built from xDS. It is called from the
	// client's goroutine, one call at a time, only when the config
	// changed. An error rejects the update: the response that caused it
	// is NACKed with the error text and the previous config stays.
	// Required.
	Apply func(Update) error
	// Logger receives connection and NACK events. Default: no-op.
	Logger *zap.Logger
	// Registerer receives the driftcar_xds_* metrics. Nil registers
	// nothing.
	Registerer prometheus.Registerer
	// ExtensionName is the ECDS resource to subscribe to. Default
	// ExtensionName.
	ExtensionName string
	// ResourceTimeout is how long a requested resource may stay
	// unanswered before it counts as not existing. Default 15s.
	ResourceTimeout time.Duration
	// Backoff returns the pause before stream attempt number attempt+1
	// after attempt consecutive attempts that received no response.
	// Default DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// NackDelay returns how long the repeat-th NACK in a row of the same
	// version_info of one type waits before it is sent (repeat >= 1; the
	// first NACK of a version is sent at once). It breaks the resend loop
	// of control planes that answer every NACK with the same resources.
	// Default 100ms doubling per repeat, at most 5s.
	NackDelay func(repeat int) time.Duration
	// Clock runs the client's timers. Default: the system clock.
	Clock Clock
	// DialOptions are appended to the client's defaults (insecure
	// transport credentials and a reconnect backoff of 1s..30s).
	DialOptions []grpc.DialOption
}

// Update is one config built from xDS, handed to Options.Apply.
type Update struct {
	// Config is validated and defaulted like a parsed file, except that
	// a split arm may name an upstream that has not arrived (yet): the
	// proxy answers 503 no_upstream for it. The receiver must not modify
	// it.
	Config *config.Config
	// Version is the version_info of the xDS response whose acceptance
	// produced Config. Versions are opaque: compare them only for
	// equality.
	Version string
}

// Clock is the source of time for the client's timers: stream backoff,
// delayed NACKs and does-not-exist timers.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d. The returned stop
	// function cancels the call and reports whether it did.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// DefaultBackoff is the pause before a stream attempt after attempt
// failed attempts in a row: 1s·1.6^attempt, at most 30s, with ±20% jitter.
// It is safe for concurrent use.
func DefaultBackoff(attempt int) time.Duration { return reconnectBackoff.Delay(attempt) }

func defaultNackDelay(repeat int) time.Duration {
	if repeat <= 0 {
		return 0
	}
	return nackBackoff.Delay(repeat - 1)
}

// NodeFromEnv returns the node for Options.Node. An empty id or cluster
// falls back to the POD_NAME or POD_NAMESPACE variable read through
// getenv (os.Getenv in production). The id must end up non-empty.
func NodeFromEnv(id, cluster string, getenv func(string) string) (*corev3.Node, error) {
	if id == "" {
		id = getenv("POD_NAME")
	}
	if cluster == "" {
		cluster = getenv("POD_NAMESPACE")
	}
	if id == "" {
		return nil, errors.New("xds: node id is required: set --node-id or POD_NAME")
	}
	return &corev3.Node{Id: id, Cluster: cluster, UserAgentName: "driftcar"}, nil
}

func (o *Options) fill() error {
	switch {
	case o.Server == "":
		return errors.New("xds: Options.Server is required")
	case o.Node.GetId() == "":
		return errors.New("xds: Options.Node with a non-empty Id is required")
	case o.Apply == nil:
		return errors.New("xds: Options.Apply is required")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.ExtensionName == "" {
		o.ExtensionName = ExtensionName
	}
	if o.ResourceTimeout <= 0 {
		o.ResourceTimeout = DefaultResourceTimeout
	}
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	if o.NackDelay == nil {
		o.NackDelay = defaultNackDelay
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if _, err := parseBase(o.Base); err != nil {
		return fmt.Errorf("xds: cannot use Options.Base: %w", err)
	}
	return nil
}
