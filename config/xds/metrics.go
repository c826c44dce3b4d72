package xds

import "github.com/prometheus/client_golang/prometheus"

// metrics are the client's Prometheus collectors. Label values come only
// from the fixed set of resource kinds.
type metrics struct {
	connected prometheus.Gauge
	acks      [numKinds]prometheus.Counter
	nacks     [numKinds]prometheus.Counter
	lastAck   [numKinds]prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	connected := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "driftcar",
		Subsystem: "xds",
		Name:      "connected",
		Help:      "1 while an ADS stream to the control plane is open and has received a response, else 0.",
	})
	updates := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "driftcar",
		Subsystem: "xds",
		Name:      "updates_total",
		Help:      "xDS responses answered, by resource type and result (ack or nack).",
	}, []string{"type", "result"})
	lastAck := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "driftcar",
		Subsystem: "xds",
		Name:      "last_ack_timestamp_seconds",
		Help:      "Unix time of the last ACKed xDS response, by resource type.",
	}, []string{"type"})
	m := &metrics{connected: connected}
	for k := range numKinds {
		m.acks[k] = updates.WithLabelValues(k.String(), "ack")
		m.nacks[k] = updates.WithLabelValues(k.String(), "nack")
		m.lastAck[k] = lastAck.WithLabelValues(k.String())
	}
	if reg != nil {
		reg.MustRegister(connected, updates, lastAck)
	}
	return m
}
