package shadow

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/grpcproxy"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/proxy"
)

// grpcEnv is a real gRPC relay with one open-inference-v2 route "infer"
// to a live grpc-go server, its calls mirrored by a Mirror through the
// relay's tap, and a client of the relay.
type grpcEnv struct {
	*env
	relay *grpcproxy.Server
	cc    *grpc.ClientConn
}

func grpcRelayConfig(t testing.TB, live string) *config.Config {
	t.Helper()
	cfg, err := config.Parse(fmt.Appendf(nil, `grpc_listen: 127.0.0.1:0
upstreams:
  live: { address: 127.0.0.1:1, grpc_address: %q }
routes:
  - name: infer
    match: { path_prefix: /inference.GRPCInferenceService/ }
    protocol: open-inference-v2
    split: [{ upstream: live, weight: 1 }]
`, live))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func grpcShadowSpec(addr string) Spec {
	return Spec{
		Route:    "infer",
		Protocol: payload.OpenInferenceV2,
		Upstream: Upstream{Name: "shadow", Address: "127.0.0.1:1", GRPCAddress: addr, Timeout: 2 * time.Second, MaxConns: 16},
		Fraction: 1,
		Compare:  Compare{AbsTolerance: 1e-6, RelTolerance: 1e-4},
	}
}

// newGRPCEnv starts the relay on loopback; with spec.Upstream.GRPCAddress
// empty it relays without a shadow.
func newGRPCEnv(t testing.TB, live string, spec Spec) *grpcEnv {
	t.Helper()
	e := &grpcEnv{env: &env{reg: prometheus.NewRegistry(), ring: NewRing(16, 256, true), answers: &answerLog{}}}
	cfg := grpcRelayConfig(t, live)
	var err error
	if e.relay, err = grpcproxy.New(cfg, grpcproxy.Options{Registerer: e.reg}); err != nil {
		t.Fatal(err)
	}
	var taps grpcproxy.Taps
	if spec.Upstream.GRPCAddress != "" {
		pm := proxy.NewMetrics(e.reg)
		e.mirror, err = New(spec, Options{Metrics: NewMetrics(e.reg, pm.UpstreamDuration()), Ring: e.ring, Answers: e.answers})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.mirror.Stop(); e.mirror.Wait() })
		taps = grpcproxy.Taps{"infer": e.mirror.GRPCTap()}
	}
	if err := e.relay.Apply(cfg, taps); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- e.relay.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.relay.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		<-served
	})
	e.addr = ln.Addr().String()
	e.cc = testupstream.DialGRPC(t, e.addr)
	return e
}

// infer makes one ModelInfer call through the relay with metadata kv.
func (e *grpcEnv) infer(t testing.TB, req []byte, kv ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if len(kv) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, kv...)
	}
	var resp []byte
	err := e.cc.Invoke(ctx, testupstream.MethodModelInfer, &req, &resp)
	return resp, err
}

// row is the one input row of the test requests.
var row = []float32{41, 52000.5}

// stoppedGRPCSide is the gRPC side of a Mirror of spec whose sender has
// stopped, so that nothing takes from its queue but the test.
func stoppedGRPCSide(tb testing.TB, spec Spec) *grpcSide {
	tb.Helper()
	m, err := New(spec, Options{Metrics: newMetrics()})
	if err != nil {
		tb.Fatal(err)
	}
	m.Stop()
	m.Wait()
	return m.grpc
}

// tapCall is a finished unary ModelInfer as the relay hands it to a tap.
func tapCall() *grpcproxy.Call {
	return &grpcproxy.Call{
		Route: "infer", Arm: "live", Method: testupstream.MethodModelInfer,
		Metadata: grpcproxy.MetadataOf(metadata.Pairs("x-request-id", "meta-id")),
		Request:  testupstream.InferRequest("m", "id-1", row), Response: testupstream.InferResponse("live", "id-1", 0.5),
		Requests: 1, Responses: 1,
	}
}
