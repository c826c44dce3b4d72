package shadow

import "testing"

// BenchmarkGRPCTap is the relay's hand-off of one call to the mirror, on
// the live call's goroutine: a call not sampled, and one dropped because
// the queue is full (a mirror that cannot keep up with every call).
func BenchmarkGRPCTap(b *testing.B) {
	for _, tc := range []struct {
		name     string
		fraction float64
	}{{"not_sampled", 1e-9}, {"queue_full", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			spec := grpcShadowSpec("127.0.0.1:1")
			spec.Fraction, spec.Queue, spec.Workers = tc.fraction, 1, 1
			g := stoppedGRPCSide(b, spec)
			g.queue <- g.pool.Get().(*grpcPending) // full
			c := tapCall()
			b.ReportAllocs()
			for b.Loop() {
				g.Call(c)
			}
		})
	}
}
