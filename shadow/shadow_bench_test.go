package shadow

import (
	"testing"

	"github.com/driftcar/driftcar/internal/testupstream"
)

// BenchmarkHandlerWithShadow is the proxy request path with every request
// mirrored: the copy, the hand-off and the live copy for pairing.
func BenchmarkHandlerWithShadow(b *testing.B) {
	live := testupstream.Start(b, testupstream.Answer("live", `{"predictions":[0.5]}`))
	shadow := testupstream.Start(b, testupstream.Answer("shadow", `{"predictions":[0.5]}`))
	for _, fraction := range []float64{0, 1} {
		name := map[float64]string{0: "shadow=off", 1: "shadow=100%"}[fraction]
		b.Run(name, func(b *testing.B) {
			spec := shadowSpec(shadow)
			spec.Fraction = fraction
			e := newEnv(b, live, spec, false)
			h := testupstream.NewHarness(e.srv.Handler(), "/v1/models/m:predict", v1Request)
			h.ServeOK(b)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeOK(b)
			}
		})
	}
}
