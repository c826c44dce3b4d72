package sidecar

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

// TestGRPCShadowEndToEnd: a sidecar whose gRPC route has a shadow with a
// grpc_address mirrors ModelInfer calls to it and compares the answers
// output by output; the counts reach /metrics and the disagreements
// /api/shadow/mismatches, while every client gets the live answer.
func TestGRPCShadowEndToEnd(t *testing.T) {
	live := testupstream.StartGRPC(t, testupstream.GRPCAnswer("live", 0.5))
	shadow := testupstream.StartGRPC(t, func(_ context.Context, _ metadata.MD, req []byte) ([]byte, error) {
		id := testupstream.InferID(req)
		n, _ := strconv.Atoi(strings.TrimPrefix(id, "id-"))
		y := float32(0.5)
		if n%2 == 1 {
			y = 0.9 // the odd ids disagree
		}
		return testupstream.InferResponse("shadow", id, y), nil
	})
	// The upstreams' HTTP address is their gRPC one: readiness dials it.
	r := start(t, fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
grpc_listen: 127.0.0.1:0
model: credit-risk
upstreams:
  live:   { address: %s, grpc_address: %s }
  shadow: { address: %s, grpc_address: %s }
routes:
  - name: infer
    match: { path_prefix: /inference.GRPCInferenceService/ }
    protocol: open-inference-v2
    split: [{ upstream: live, weight: 1 }]
    shadow: { upstream: shadow, fraction: 1, compare: { abs_tolerance: 1e-6 } }
`, live, live, shadow, shadow))
	cc := testupstream.DialGRPC(t, r.s.GRPCAddr())
	const n = 10
	for i := range n {
		id := "id-" + strconv.Itoa(i)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, resp := testupstream.InferRequest("m", id, []float32{1, 2}), []byte(nil)
		err := cc.Invoke(ctx, testupstream.MethodModelInfer, &req, &resp)
		cancel()
		if err != nil || string(resp) != string(testupstream.InferResponse("live", id, 0.5)) {
			t.Fatalf("call %s: got %x, %v; want the live answer", id, resp, err)
		}
	}
	admin := "http://" + r.s.AdminAddr()
	for _, w := range []string{
		`driftcar_shadow_comparisons_total{model="credit-risk",outcome="match",route="infer"} 5`,
		`driftcar_shadow_comparisons_total{model="credit-risk",outcome="mismatch",route="infer"} 5`,
		`driftcar_shadow_requests_total{model="credit-risk",result="ok",route="infer"} 10`,
	} {
		testutil.Eventually(t, 10*time.Second, "/metrics has "+w, func() bool {
			_, body, _ := get(t, admin+"/metrics")
			return strings.Contains(body, w)
		})
	}
	var samples []struct {
		RequestID string `json:"request_id"`
		Path      string `json:"path"`
		Live      string `json:"live"`
		Shadow    string `json:"shadow"`
	}
	testutil.Eventually(t, 10*time.Second, "5 mismatch samples", func() bool {
		_, body, _ := get(t, admin+"/api/shadow/mismatches")
		return json.Unmarshal([]byte(body), &samples) == nil && len(samples) == 5
	})
	for _, s := range samples {
		if s.Path != testupstream.MethodModelInfer || s.Live != "0.5" || s.Shadow != "0.8999999761581421" {
			t.Errorf("sample %+v; want ModelInfer, live 0.5 and shadow 0.9 (as FP32)", s)
		}
		if n, _ := strconv.Atoi(strings.TrimPrefix(s.RequestID, "id-")); n%2 != 1 {
			t.Errorf("sample of %s, which agrees", s.RequestID)
		}
	}
}
