package shadow

import (
	"fmt"
	"time"

	"github.com/driftcar/driftcar/internal/payload"
)

// Spec configures the mirror of one route. Zero fields take the defaults
// named on each field.
type Spec struct {
	// Route is the route name, used as a metric label.
	Route string
	// Upstream is the shadow model server.
	Upstream Upstream
	// Fraction of requests mirrored, 0..1, chosen by a hash of the request
	// id so the same id is always mirrored or always not.
	Fraction float64
	// Queue bounds the copies waiting for a worker. Default 1024.
	Queue int
	// QueueBytes bounds the bytes of request copies held at once, queued
	// or in flight. Default 64 MiB.
	QueueBytes int64
	// MaxBody: larger request bodies are not mirrored. Default 1 MiB.
	MaxBody int
	// MaxLiveBody caps the copy of the live response kept for comparison.
	// Default 1 MiB.
	MaxLiveBody int
	// Methods that are mirrored. Default POST.
	Methods []string
	// StripHeaders are removed from mirrored requests. Nil means the
	// default, authorization and cookie; empty means none.
	StripHeaders []string
	// Workers sending to the shadow. Default: the upstream's MaxConns.
	Workers int
	// PairTimeout bounds how long a shadow response waits for its live
	// partner. Default: the upstream timeout.
	PairTimeout time.Duration
	// Protocol decodes predictions. Default kserve-v1.
	Protocol payload.Protocol
	// Prediction selects the compared predictions (its Path and Output),
	// the same ones prediction drift monitors.
	Prediction payload.PredictionSpec
	// Compare sets the tolerances.
	Compare Compare
}

// Upstream is the shadow model server's connection settings.
type Upstream struct {
	Name    string
	Address string
	// GRPCAddress is the shadow's gRPC service; when set on an
	// open-inference-v2 route, the mirror also shadows ModelInfer calls
	// (see Mirror.GRPCTap).
	GRPCAddress    string
	Timeout        time.Duration // default 2s
	ConnectTimeout time.Duration // default 1s
	MaxConns       int           // default 256
}

// Compare says when two predictions match. Numbers a (live) and b
// (shadow) match when |a-b| <= AbsTolerance + RelTolerance*|a|.
type Compare struct {
	AbsTolerance float64
	RelTolerance float64
}

// DefaultStripHeaders are removed from mirrored requests unless configured.
var DefaultStripHeaders = []string{"authorization", "cookie"}

func (s Spec) withDefaults() Spec {
	if s.Queue <= 0 {
		s.Queue = 1024
	}
	if s.QueueBytes <= 0 {
		s.QueueBytes = 64 << 20
	}
	if s.MaxBody <= 0 {
		s.MaxBody = 1 << 20
	}
	if s.MaxLiveBody <= 0 {
		s.MaxLiveBody = 1 << 20
	}
	if s.Methods == nil {
		s.Methods = []string{"POST"}
	}
	if s.StripHeaders == nil {
		s.StripHeaders = DefaultStripHeaders
	}
	if s.Upstream.Timeout <= 0 {
		s.Upstream.Timeout = 2 * time.Second
	}
	if s.Upstream.ConnectTimeout <= 0 {
		s.Upstream.ConnectTimeout = time.Second
	}
	if s.Upstream.MaxConns <= 0 {
		s.Upstream.MaxConns = 256
	}
	if s.Workers <= 0 {
		s.Workers = s.Upstream.MaxConns
	}
	if s.PairTimeout <= 0 {
		s.PairTimeout = s.Upstream.Timeout
	}
	if s.Protocol == 0 {
		s.Protocol = payload.KServeV1
	}
	return s
}

// Check reports a spec whose predictions cannot be read.
func (s Spec) Check() error {
	s = s.withDefaults()
	if err := payload.CheckPrediction(s.Protocol, s.Prediction); err != nil {
		return fmt.Errorf("shadow %s: prediction: %w", s.Route, err)
	}
	return nil
}
