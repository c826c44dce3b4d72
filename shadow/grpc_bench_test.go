package shadow

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/driftcar/driftcar/grpcproxy"
	"github.com/driftcar/driftcar/internal/testupstream"
)

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
			m, err := New(spec, Options{Metrics: newMetrics()})
			if err != nil {
				b.Fatal(err)
			}
			defer func() { m.Stop(); m.Wait() }()
			tap := m.GRPCTap()
			c := &grpcproxy.Call{
				Route: "infer", Arm: "live", Method: "/inference.GRPCInferenceService/ModelInfer",
				Metadata: grpcproxy.MetadataOf(metadata.Pairs("x-request-id", "r")),
				Request:  testupstream.InferRequest("m", "id-1", row), Response: testupstream.InferResponse("live", "id-1", 0.5),
				Requests: 1, Responses: 1, Code: codes.OK,
			}
			if tc.fraction == 1 {
				m.Stop()
				m.Wait() // no sender takes from the queue now
				m.grpc.queue <- m.grpc.pool.Get().(*grpcPending)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				tap.Call(c)
			}
		})
	}
}
