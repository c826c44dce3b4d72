package predlog

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/driftcar/driftcar/internal/testutil"
)

// notReadySink refuses everything and says why.
type notReadySink struct{ *memSink }

func (*notReadySink) Ready() error { return errors.New("broker down") }

func TestMetricsAndReady(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	held := newMemSink()
	held.gate = make(chan struct{})
	down := &notReadySink{newMemSink()}
	down.gate = make(chan struct{})
	l, err := New(zap.NewNop(), m,
		SinkSpec{Name: "held", Sink: held, Queue: QueueOptions{MaxRecords: 10, BatchSize: 1}},
		SinkSpec{Name: "down", Sink: down, Queue: QueueOptions{MaxRecords: 10, BatchSize: 1}},
	)
	if err != nil {
		t.Fatal(err)
	}
	offer := func(i int) {
		r := l.Acquire()
		fill(r, i)
		l.Offer(r)
	}
	offer(0)
	// Each sink's worker takes the first record and waits in Write.
	testutil.Eventually(t, 5*time.Second, "first record in flight", func() bool {
		return len(l.runners[0].q) == 0 && len(l.runners[1].q) == 0
	})
	for i := 1; i < 15; i++ {
		offer(i)
	}
	if err := l.Ready(); err == nil || !strings.Contains(err.Error(), "log sink down: broker down") || strings.Contains(err.Error(), "held") {
		t.Errorf("Ready: %v; want only sink down named", err)
	}
	want := `
# HELP driftcar_log_queue_records Records queued or being written, by sink.
# TYPE driftcar_log_queue_records gauge
driftcar_log_queue_records{sink="down"} 11
driftcar_log_queue_records{sink="held"} 11
# HELP driftcar_log_sink_ready 1 when the sink reports ready, else 0.
# TYPE driftcar_log_sink_ready gauge
driftcar_log_sink_ready{sink="down"} 0
driftcar_log_sink_ready{sink="held"} 1
`
	if err := promtest.GatherAndCompare(reg, strings.NewReader(want), "driftcar_log_queue_records", "driftcar_log_sink_ready"); err != nil {
		t.Error(err)
	}
	if got := promtest.ToFloat64(m.dropped.WithLabelValues("held", ReasonQueueFull)); got != 4 {
		t.Errorf("held queue_full drops %v; want 4 (10 queued + 1 in flight of 15)", got)
	}
	close(held.gate)
	close(down.gate)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := promtest.GatherAndCount(reg, "driftcar_log_queue_records"); err != nil || n != 0 {
		t.Errorf("queue gauges after Close: %d, %v; want none", n, err)
	}
	// A second Log on the same Metrics shows its queues again.
	l2, err := New(zap.NewNop(), m, SinkSpec{Name: "held", Sink: newMemSink()})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := promtest.GatherAndCount(reg, "driftcar_log_queue_records"); n != 1 {
		t.Errorf("queue gauges of a second log: %d; want 1", n)
	}
	_ = l2.Close(ctx)
}
