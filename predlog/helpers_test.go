package predlog

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.uber.org/zap"
)

// memSink keeps what it was given. fail decides per call whether the
// call fails; gate, when set, holds each Write until it yields or ctx ends.
type memSink struct {
	mu    sync.Mutex
	ids   map[string]int
	calls int
	fail  func(call int) bool
	gate  chan struct{}
}

func newMemSink() *memSink { return &memSink{ids: map[string]int{}} }

func (s *memSink) Write(ctx context.Context, batch []*Record) error {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail != nil && s.fail(s.calls) {
		return errors.New("sink refused")
	}
	for _, r := range batch {
		s.ids[r.RequestID]++
	}
	return nil
}

func (s *memSink) Ready() error                { return nil }
func (s *memSink) Close(context.Context) error { return nil }

func (s *memSink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids)
}

// counts reads one sink's counters.
type counts struct {
	written, failed float64
	dropped         map[string]float64
}

func (c counts) droppedTotal() float64 {
	var n float64
	for _, v := range c.dropped {
		n += v
	}
	return n
}

func readCounts(m *Metrics, sink string) counts {
	c := counts{
		written: promtest.ToFloat64(m.records.WithLabelValues(sink, "written")),
		failed:  promtest.ToFloat64(m.records.WithLabelValues(sink, "failed")),
		dropped: map[string]float64{},
	}
	for _, r := range dropReasons {
		c.dropped[r] = promtest.ToFloat64(m.dropped.WithLabelValues(sink, r))
	}
	return c
}

func newTestLog(t *testing.T, specs ...SinkSpec) (*Log, *Metrics) {
	t.Helper()
	m := NewMetrics(prometheus.NewRegistry())
	l, err := New(zap.NewNop(), m, specs...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l, m
}

// fill makes r a typical two-row record with id i.
func fill(r *Record, i int) {
	r.RequestID = fmt.Sprintf("req-%06d", i)
	r.Time = time.Unix(1700000000, int64(i)).UTC()
	r.Model, r.Route, r.Arm = "credit-risk", "predict", "stable"
	r.Status, r.LatencySeconds = 200, 0.0123
	for row := range 2 {
		rw := r.AddRow()
		rw.Add("age").SetNumber(float64(30 + row))
		rw.Add("city").SetString([]byte("Paris"))
		r.AddPrediction().SetNumber(0.25)
	}
	r.SetRequestBody([]byte(`{"instances":[[30,"Paris"],[31,"Paris"]]}`))
	r.SetResponseBody([]byte(`{"predictions":[0.25,0.25]}`))
}

func closeLog(t *testing.T, l *Log, within time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	return l.Close(ctx)
}

type nopRegisterer struct{}

func (nopRegisterer) Register(prometheus.Collector) error  { return nil }
func (nopRegisterer) MustRegister(...prometheus.Collector) {}
func (nopRegisterer) Unregister(prometheus.Collector) bool { return true }

// waitDrained waits until every sink of l has nothing queued or in flight.
func waitDrained(t *testing.T, l *Log) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		busy := false
		for _, s := range l.runners {
			busy = busy || s.depth.Load() != 0
		}
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log did not drain within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// fmtSscan reads the number of a request id made by fill.
func fmtSscan(id string, i *int) (int, error) {
	return fmt.Sscanf(id, "req-%d", i)
}

func jsonEqual(a, b any) bool {
	return reflect.DeepEqual(a, b)
}

func saslMechanism(t *testing.T, mech string) sasl.Mechanism {
	t.Helper()
	switch mech {
	case "PLAIN":
		return plain.Auth{User: "driftcar", Pass: "s3cret"}.AsMechanism()
	case "SCRAM-SHA-256":
		return scram.Auth{User: "driftcar", Pass: "s3cret"}.AsSha256Mechanism()
	}
	return scram.Auth{User: "driftcar", Pass: "s3cret"}.AsSha512Mechanism()
}
