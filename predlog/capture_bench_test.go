package predlog

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/proxy"
)

// BenchmarkCaptureToFile is the pipeline of logging requests to the file
// sink: the request path's copy, the decoding, the record and its JSON
// line; the run ends when every line is written, so ns/op includes the
// worker's polling pauses (its CPU per request is lower).
func BenchmarkCaptureToFile(b *testing.B) {
	m := NewMetrics(prometheus.NewRegistry())
	sink, err := NewFileSink(FileOptions{Path: filepath.Join(b.TempDir(), "p.jsonl"), MaxSizeMB: 1024})
	if err != nil {
		b.Fatal(err)
	}
	log, err := New(zap.NewNop(), m, SinkSpec{Name: "file", Sink: sink, Queue: QueueOptions{MaxRecords: 1 << 16, MaxBytes: 1 << 30, BatchSize: 256}})
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewCapture(CaptureOptions{Model: "m", Log: log, MaxBody: 64 << 10, Queue: 1 << 16,
		Routes:     []CaptureRoute{{Name: "predict", Protocol: payload.KServeV1, Fraction: 1, Live: "live"}},
		Features:   []payload.FeatureSpec{{Name: "age", Type: payload.Numeric}, {Name: "income", Type: payload.Numeric}, {Name: "country", Type: payload.Categorical}, {Name: "tenure", Type: payload.Numeric}},
		Prediction: &payload.PredictionSpec{Type: payload.Numeric},
	})
	if err != nil {
		b.Fatal(err)
	}
	req, resp := &fasthttp.Request{}, &fasthttp.Response{}
	req.SetBodyString(`{"instances":[{"age":42,"income":52000.5,"country":"DE","tenure":3}]}`)
	resp.SetBodyString(`{"predictions":[0.73]}`)
	rec := c.Route("predict")
	ids := make([][]byte, 4096)
	for i := range ids {
		ids[i] = []byte("request-" + strconv.Itoa(i))
	}
	written := m.records.WithLabelValues("file", "written")
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		rec.Record(req, resp, proxy.Exchange{Arm: "live", RequestID: ids[i%len(ids)], Start: time.Unix(1e9, 0), Duration: time.Millisecond})
		if i%1024 == 1023 {
			for len(c.queue) > 512 {
				time.Sleep(10 * time.Microsecond) // let the worker keep up: the queue must not drop
			}
		}
	}
	for promtest.ToFloat64(written) < float64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	c.Stop()
}
