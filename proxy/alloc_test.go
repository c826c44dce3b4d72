//go:build !race

package proxy

import (
	"testing"

	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// TestHandlerZeroAllocs guards the 0 allocs/op of the steady-state request
// path with no taps: route lookup, arm choice, header work, the upstream
// call and metrics.
func TestHandlerZeroAllocs(t *testing.T) {
	up := stubUpstream(t)
	for _, sticky := range []bool{false, true} {
		h := newHandlerHarness(t, splitConfig(up, up, sticky))
		for range 100 {
			h.ServeOK(t)
		}
		if n := testing.AllocsPerRun(1000, func() { h.ServeOK(t) }); n != 0 {
			t.Errorf("sticky=%t: got %v allocs per request; want 0", sticky, n)
		}
	}
}

// countingRecorder counts what it is handed and keeps nothing.
type countingRecorder struct{ n, failed int }

func (c *countingRecorder) Record(_ *fasthttp.Request, _ *fasthttp.Response, ex Exchange) {
	c.n++
	if ex.Failure != "" {
		c.failed++
	}
}

// TestRecorderHandOffZeroAllocs: handing a request to a Recorder adds no
// allocation to the request path.
func TestRecorderHandOffZeroAllocs(t *testing.T) {
	up := stubUpstream(t)
	cfg := mustParse(t, splitConfig(up, up, false))
	s, err := New(cfg, Options{Metrics: NewMetrics(prometheus.NewRegistry())})
	if err != nil {
		t.Fatal(err)
	}
	rec := &countingRecorder{}
	s.Apply(cfg, Taps{"predict": {Recorder: rec}})
	h := testupstream.NewHarness(s.Handler(), "/v1/models/m:predict", benchBody)
	for range 100 {
		h.ServeOK(t)
	}
	if n := testing.AllocsPerRun(1000, func() { h.ServeOK(t) }); n != 0 {
		t.Errorf("got %v allocs per request; want 0", n)
	}
	if rec.n != 1101 || rec.failed != 0 { // 100, AllocsPerRun's warm-up run and 1000
		t.Errorf("recorder got %d requests (%d failed); want 1101, 0 failed", rec.n, rec.failed)
	}
}
