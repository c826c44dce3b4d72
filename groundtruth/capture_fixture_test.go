package groundtruth

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/groundtruth/perf"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/proxy"
)

// captureRequest and captureAnswer are the request the capture fixture
// sends and the live stub's answer: one row scored 0.73.
const (
	captureRequest = `{"instances":[{"age":41,"income":52000.5,"country":"DE","tenure":3}]}`
	captureAnswer  = `{"predictions":[0.73]}`
)

// captureFixture is a proxy of one route, predict, to a loopback live
// stub, with the ground truth's Recorder tap on it when tapped.
type captureFixture struct {
	h       *testupstream.Harness
	table   *Table
	capture *Capture // nil when not tapped
}

func newCaptureFixture(tb testing.TB, maxEntries int, tapped bool) *captureFixture {
	tb.Helper()
	live := testupstream.Start(tb, testupstream.Answer("live", captureAnswer))
	cfg, err := config.Parse(fmt.Appendf(nil, `
upstreams:
  live: { address: %s }
routes:
  - name: predict
    split: [{ upstream: live, weight: 1 }]
`, live))
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := proxy.New(cfg, proxy.Options{Metrics: proxy.NewMetrics(prometheus.NewRegistry())})
	if err != nil {
		tb.Fatal(err)
	}
	fx := &captureFixture{h: testupstream.NewHarness(srv.Handler(), "/v1/models/m:predict", captureRequest)}
	if fx.table, err = NewTable(TableOptions{MaxEntries: maxEntries, TTL: time.Hour}); err != nil {
		tb.Fatal(err)
	}
	if !tapped {
		return fx
	}
	fx.capture, err = NewCapture(CaptureOptions{
		Table: fx.table, Spec: perf.Spec{Kind: perf.Binary, Threshold: 0.5},
		Routes:     []CaptureRoute{{Name: "predict", Protocol: payload.KServeV1, Arms: []string{"live"}}},
		Prediction: &payload.PredictionSpec{Type: payload.Numeric},
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(fx.capture.Stop)
	srv.Apply(cfg, proxy.Taps{"predict": {Recorder: fx.capture.Route("predict")}})
	return fx
}
