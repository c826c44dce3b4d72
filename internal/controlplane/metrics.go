package controlplane

import (
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

type metrics struct {
	files      prometheus.Gauge
	fileValid  *prometheus.GaugeVec
	fileErrors prometheus.Counter
	snapshots  prometheus.Counter
	nodes      prometheus.Gauge
	nacks      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	const ns, sub = "driftcar", "controlplane"
	m := &metrics{
		files: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "files",
			Help: "Config files in the directory."}),
		fileValid: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "file_valid",
			Help: "1 if the file's current content is valid, 0 if its last valid content is served instead."}, []string{"file"}),
		fileErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "file_errors_total",
			Help: "Invalid file contents seen."}),
		snapshots: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "snapshots_total",
			Help: "Snapshots set for connected sidecars."}),
		nodes: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "connected_nodes",
			Help: "Sidecars with an open ADS stream."}),
		nacks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "nacks_total",
			Help: "Updates sidecars rejected, by resource type."}, []string{"type"}),
	}
	for _, t := range typeLabels {
		m.nacks.WithLabelValues(t)
	}
	reg.MustRegister(m.files, m.fileValid, m.fileErrors, m.snapshots, m.nodes, m.nacks)
	return m
}

var typeLabels = map[string]string{
	"envoy.config.cluster.v3.Cluster":                "cds",
	"envoy.config.endpoint.v3.ClusterLoadAssignment": "eds",
	"envoy.config.listener.v3.Listener":              "lds",
	"envoy.config.route.v3.RouteConfiguration":       "rds",
	"envoy.config.core.v3.TypedExtensionConfig":      "ecds",
}

// typeLabel maps a type URL onto a closed set of label values.
func typeLabel(url string) string {
	if l, ok := typeLabels[strings.TrimPrefix(url, "type.googleapis.com/")]; ok {
		return l
	}
	return "other"
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

// zapLogger adapts zap to go-control-plane's logger. The cache logs every
// watch at info, so info becomes debug.
type zapLogger struct{ l *zap.Logger }

func (z zapLogger) Debugf(format string, args ...any) { z.log(zapcore.DebugLevel, format, args...) }
func (z zapLogger) Infof(format string, args ...any)  { z.log(zapcore.DebugLevel, format, args...) }
func (z zapLogger) Warnf(format string, args ...any)  { z.log(zapcore.WarnLevel, format, args...) }
func (z zapLogger) Errorf(format string, args ...any) { z.log(zapcore.ErrorLevel, format, args...) }

func (z zapLogger) log(level zapcore.Level, format string, args ...any) {
	if !z.l.Core().Enabled(level) {
		return
	}
	if ce := z.l.Check(level, fmt.Sprintf(format, args...)); ce != nil {
		ce.Write()
	}
}
