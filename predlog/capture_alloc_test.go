//go:build !race

package predlog

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/proxy"
)

// TestCaptureRecordAllocs: the request path's part of logging, the
// decision and the copy onto the queue, allocates nothing in steady
// state.
func TestCaptureRecordAllocs(t *testing.T) {
	log, err := New(zap.NewNop(), NewMetrics(prometheus.NewRegistry()), SinkSpec{Name: "mem", Sink: newMemSink()})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := newCapture(CaptureOptions{Model: "m", Log: log, MaxBody: 1 << 10, Headers: []string{"X-User-Id"},
		Routes: []CaptureRoute{{Name: "predict", Protocol: payload.OpenInferenceV2, Fraction: 1, Live: "live"}}})
	if err != nil {
		t.Fatal(err)
	}
	req, resp := &fasthttp.Request{}, &fasthttp.Response{}
	req.SetBodyString(twoRows)
	req.Header.Set("X-User-Id", "u-7")
	resp.SetBodyString(`{"predictions":[0.25,0.75]}`)
	rec := c.Route("predict")
	ex := proxy.Exchange{Arm: "live", RequestID: []byte("r-1"), Start: time.Unix(1e9, 0), Duration: time.Millisecond}
	drain := func() {
		for {
			select {
			case cp := <-c.queue:
				c.recycle(cp)
			default:
				return
			}
		}
	}
	for range 100 {
		rec.Record(req, resp, ex)
		drain()
	}
	if n := testing.AllocsPerRun(1000, func() { rec.Record(req, resp, ex); drain() }); n != 0 {
		t.Errorf("got %v allocs per recorded request; want 0", n)
	}
}
