//go:build !race

package sampler

import (
	"testing"

	"github.com/driftcar/driftcar/internal/testupstream"
)

// TestSamplingTapAllocs guards the request path with sampling at 100%: the
// copy and the hand-off allocate at most once per request (0 in steady
// state).
func TestSamplingTapAllocs(t *testing.T) {
	srv, _ := sampledProxy(t, RouteSpec{Fraction: 1, Queue: 4096, MaxBody: 1 << 20, Workers: 1})
	h := testupstream.NewHarness(srv.Handler(), "/v1/models/m:predict", request)
	for range 1000 {
		h.ServeOK(t)
	}
	if n := testing.AllocsPerRun(5000, func() { h.ServeOK(t) }); n > 1 {
		t.Errorf("got %v allocs per sampled request; want at most 1", n)
	}
}

// TestSampleModelInferAllocs guards the gRPC hand-off as
// TestSamplingTapAllocs guards Sample: at most one allocation (a record
// the pool had none for while the worker lags).
func TestSampleModelInferAllocs(t *testing.T) {
	tap := grpcTap(t, 1<<16, 1<<20)
	req := modelInferAges(20, 30, 40)
	for range 1000 {
		tap.SampleModelInfer(req, nil, "live")
	}
	if n := testing.AllocsPerRun(5000, func() { tap.SampleModelInfer(req, nil, "live") }); n > 1 {
		t.Errorf("got %v allocs per SampleModelInfer; want at most 1", n)
	}
}
