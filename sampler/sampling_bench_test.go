package sampler

import (
	"testing"

	"github.com/driftcar/driftcar/internal/testupstream"
)

// BenchmarkHandlerWithSampling is the proxy request path with sampling off
// and at 100%, decoding on the workers included.
func BenchmarkHandlerWithSampling(b *testing.B) {
	for _, fraction := range []float64{0, 1} {
		name := map[float64]string{0: "sample=off", 1: "sample=100%"}[fraction]
		b.Run(name, func(b *testing.B) {
			srv, _ := sampledProxy(b, RouteSpec{Fraction: fraction, Queue: 4096, MaxBody: 1 << 20, Workers: 1})
			h := testupstream.NewHarness(srv.Handler(), "/v1/models/m:predict", request)
			h.ServeOK(b)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeOK(b)
			}
		})
	}
}
