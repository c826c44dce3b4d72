package grafana

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/driftcar/driftcar/internal/sidecar"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

// TestGRPCRowAgainstGRPCRoute runs the queries of the dashboard's gRPC row
// against a real Prometheus scraping a sidecar whose gRPC route serves
// ModelInfer calls on two arms, a share of them failing: each query must
// show both arms, and all but the fallbacks a value above zero, not the
// zero lines of a route without gRPC calls.
func TestGRPCRowAgainstGRPCRoute(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a sidecar and Prometheus for about 10 seconds")
	}
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus is not installed; .ci/run installs the Debian package")
		}
		t.Skip("prometheus not installed")
	}
	model := func(name string) testupstream.GRPCHandler {
		return func(_ context.Context, md metadata.MD, req []byte) ([]byte, error) {
			if len(md.Get("x-fail")) > 0 {
				return nil, status.Error(codes.Internal, "model failed")
			}
			return testupstream.InferResponse(name, testupstream.InferID(req), 0.5), nil
		}
	}
	live, canary := testupstream.StartGRPC(t, model("live")), testupstream.StartGRPC(t, model("canary"))
	admin := testutil.FreePort(t)
	cfgPath := filepath.Join(t.TempDir(), "driftcar.yaml")
	testutil.WriteFile(t, cfgPath, fmt.Sprintf(`listen: 127.0.0.1:0
grpc_listen: 127.0.0.1:0
admin: %s
model: grpc
upstreams:
  live:   { address: 127.0.0.1:1, grpc_address: %s }
  canary: { address: 127.0.0.1:2, grpc_address: %s }
routes:
  - name: infer
    match: { path_prefix: /inference.GRPCInferenceService/ }
    protocol: open-inference-v2
    arm_override: true
    fallback: none
    split: [{ upstream: live, weight: 1 }, { upstream: canary, weight: 0 }]
`, admin, live, canary))
	s, err := sidecar.New(sidecar.Options{ConfigPath: cfgPath, ProbeInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone, loadDone := make(chan error, 1), make(chan struct{})
	go func() { runDone <- s.Run(ctx, nil) }()
	cc := testupstream.DialGRPC(t, s.GRPCAddr())
	go func() { // calls on both arms until the test ends, every fourth failing
		defer close(loadDone)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ctx.Err() == nil; i++ {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
			for _, arm := range []string{"live", "canary"} {
				kv := []string{"x-driftcar-arm", arm}
				if i%4 == 0 {
					kv = append(kv, "x-fail", "1")
				}
				req, resp := testupstream.InferRequest("m", fmt.Sprint(i), []float32{1, 2}), []byte(nil)
				_ = cc.Invoke(metadata.AppendToOutgoingContext(ctx, kv...), testupstream.MethodModelInfer, &req, &resp)
			}
		}
	}()
	defer func() {
		cancel()
		<-loadDone
		if err := <-runDone; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	web, logs := startPrometheus(t, prom, admin)

	all, err := Queries(readDashboard(t), map[string]string{"model": "grpc", "route": "infer", "feature": "x", "__rate_interval": "5s"})
	if err != nil {
		t.Fatal(err)
	}
	var qs []string
	for _, q := range all {
		if strings.Contains(q, "driftcar_grpc_") {
			qs = append(qs, q)
		}
	}
	if len(qs) < 5 {
		t.Fatalf("%d gRPC queries in the dashboard; want calls, fallbacks, error rate, latency p50 and p99", len(qs))
	}
	client := &http.Client{Timeout: 5 * time.Second}
	var missing []string
	if !testutil.Poll(60*time.Second, time.Second, func() bool {
		missing = missing[:0]
		for _, q := range qs {
			byArm, err := armValues(client, "http://"+web, q)
			for _, arm := range []string{"live", "canary"} {
				v, ok := byArm[arm]
				if err != nil || !ok || (!strings.Contains(q, "fallbacks") && !(v > 0)) {
					missing = append(missing, fmt.Sprintf("%s: %v %v: %s", arm, byArm, err, q))
				}
			}
		}
		return len(missing) == 0
	}) {
		t.Fatalf("gRPC queries without a value for both arms after 60s:\n%s\nprometheus log:\n%s",
			strings.Join(missing, "\n"), logs.String())
	}
}
