package sidecar

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

func TestShadowEndToEnd(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.9, 0.1]}`))
	shadowAddr := testupstream.Start(t, testupstream.Answer("shadow", `{"predictions":[0.9, 0.7]}`))
	r := start(t, fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
model: credit-risk
upstreams:
  live:   { address: %s }
  shadow: { address: %s, timeout: 2s, max_conns: 8 }
routes:
  - name: predict
    protocol: kserve-v1
    split: [{ upstream: live, weight: 1 }]
    shadow:
      upstream: shadow
      fraction: 1
      compare: { abs_tolerance: 1e-6, rel_tolerance: 1e-4 }
shadow_samples: { keep: 3, max_body: 16B }
`, live, shadowAddr))
	for i := range 5 {
		resp, err := http.Post("http://"+r.s.ProxyAddr()+"/v1/models/m:predict?id=req-"+fmt.Sprint(i), "application/json", strings.NewReader(`{"instances":[1,2]}`))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	admin := "http://" + r.s.AdminAddr()
	metricLine := `driftcar_shadow_comparisons_total{model="credit-risk",outcome="mismatch",route="predict"} 5`
	testutil.Eventually(t, 10*time.Second, "5 mismatches are counted", func() bool {
		_, body, _ := get(t, admin+"/metrics")
		return strings.Contains(body, metricLine)
	})
	_, body, _ := get(t, admin+"/metrics")
	for _, want := range []string{
		`driftcar_shadow_comparisons_total{model="credit-risk",outcome="match",route="predict"} 5`,
		`driftcar_shadow_requests_total{model="credit-risk",result="ok",route="predict"} 5`,
		`driftcar_upstream_duration_seconds_count{arm="shadow",model="credit-risk",route="predict"} 5`,
		`driftcar_shadow_prediction_abs_diff_count{model="credit-risk",route="predict"} 10`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	_, routes, _ := get(t, admin+"/api/routes")
	for _, want := range []string{`"arm": "live"`, `"requests": 5`, `"match": 5`, `"mismatch": 5`, `"ok": 5`} {
		if !strings.Contains(routes, want) {
			t.Errorf("/api/routes lacks %s:\n%s", want, routes)
		}
	}
	_, api, _ := get(t, admin+"/api/shadow/mismatches")
	var samples []struct {
		RequestID string `json:"request_id"`
		Index     int
		Live      string
		Shadow    string
		LiveBody  string `json:"live_body"`
		Truncated bool
	}
	if err := json.Unmarshal([]byte(api), &samples); err != nil {
		t.Fatalf("/api/shadow/mismatches: %v\n%s", err, api)
	}
	if len(samples) != 3 {
		t.Fatalf("samples: got %d; want 3 (keep: 3)", len(samples))
	}
	s := samples[0]
	if len(s.RequestID) != 32 || s.Index != 1 || s.Live != "0.1" || s.Shadow != "0.7" || len(s.LiveBody) != 16 || !s.Truncated {
		t.Errorf("newest sample: got %+v", s)
	}
}
