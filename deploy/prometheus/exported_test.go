package prometheus_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/config/xds"
	dprom "github.com/driftcar/driftcar/deploy/prometheus"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/sidecar"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// TestMetricsListMatchesARunningSidecar: the names and types in Metrics
// are exactly those a sidecar with every feature on exports (the Go and
// process collectors' go_ and process_ aside).
func TestMetricsListMatchesARunningSidecar(t *testing.T) {
	dir := t.TempDir()
	answer := func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/v1/chat/completions" {
			ctx.SetContentType("text/event-stream")
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
				_, _ = w.WriteString("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n")
			})
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"predictions":[0.5]}`)
	}
	live, canary, shadow := testupstream.Start(t, answer), testupstream.Start(t, answer), testupstream.Start(t, answer)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(hook.Close)

	ref := filepath.Join(dir, "reference.json")
	writeReference(t, ref)
	learned := filepath.Join(dir, "learned.json")
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
grpc_listen: 127.0.0.1:0
model: credit-risk
upstreams:
  live:   { address: %s }
  canary: { address: %s }
  shadow: { address: %s }
  grpc:   { address: %s, grpc_address: %s }
routes:
  - name: predict
    protocol: kserve-v1
    match: { path_prefix: /v1/models/m }
    split:
      - { upstream: live,   weight: 50 }
      - { upstream: canary, weight: 50 }
    shadow: { upstream: shadow, fraction: 1, compare: { abs_tolerance: 1e-6 } }
    sample: { fraction: 1 }
  - name: chat
    protocol: openai
    match: { path_prefix: /v1/chat/completions }
    split: [{ upstream: live, weight: 1 }]
  - name: infer
    protocol: open-inference-v2
    match: { path_prefix: /inference.GRPCInferenceService/ }
    split: [{ upstream: grpc, weight: 1 }]
features:
  - { name: age, type: numeric }
  - { name: country, type: categorical }
prediction: { type: numeric }
reference: { file: %s }
sketch: { slices: 10, slice_duration: 1m }
drift:
  windows: [5m]
  min_samples: 100
  webhook: { url: %s }
canary_guard: { min_requests: 100, window: 1m }
log:
  fraction: 0.5
  sinks: [{ name: local, type: file, path: %s }]
ground_truth:
  label: { type: binary }
  min_labels: 10
  reference_rows: 10
  sla: { min_accuracy: 0.99 }
`, live, canary, shadow, live, live, ref, hook.URL, filepath.Join(dir, "predictions.jsonl"))
	s := startSidecar(t, filepath.Join(dir, "full.yaml"), cfg)

	// The xDS client registers its metrics when it is built; it need not
	// connect.
	raw, err := os.ReadFile(filepath.Join(dir, "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := xds.New(xds.Options{
		Server: "127.0.0.1:1", Node: &corev3.Node{Id: "test", Cluster: "test"}, Base: raw,
		Registerer: s.Registerer(), Apply: func(xds.Update) error { return nil },
	}); err != nil {
		t.Fatal(err)
	}

	// A second sidecar learns its reference (never finishing): only it
	// exports the learning gauge.
	// It has a numeric label: only it exports the regression metrics.
	learningCfg := strings.Replace(
		strings.Replace(cfg, "reference: { file: "+ref+" }", "reference: { file: "+learned+", learn: { samples: 1000000 } }", 1),
		"canary_guard: { min_requests: 100, window: 1m }\n", "", 1)
	learningCfg = strings.Replace(strings.Replace(learningCfg, "type: binary", "type: numeric", 1), "min_accuracy: 0.99", "max_rmse: 0.01", 1)
	learning := startSidecar(t, filepath.Join(dir, "learning.yaml"), learningCfg)

	clock := time.Unix(1e9, 0)
	var got map[string]string
	deadline := time.Now().Add(30 * time.Second)
	for {
		label(t, s.AdminAddr(), post(t, s.ProxyAddr(), 200))
		label(t, learning.AdminAddr(), post(t, learning.ProxyAddr(), 20))
		clock = clock.Add(10 * time.Second)
		s.TickDrift(clock)
		s.TickGroundTruth(clock)
		learning.TickGroundTruth(clock)
		got = scrape(t, s.AdminAddr())
		for name, typ := range scrape(t, learning.AdminAddr()) {
			got[name] = typ
		}
		if equal(got, dprom.Metrics) || time.Now().After(deadline) {
			break
		}
	}
	for name, typ := range dprom.Metrics {
		if got[name] != typ {
			t.Errorf("listed %s %s; exported as %q", name, typ, got[name])
		}
	}
	for name, typ := range got {
		if _, ok := dprom.Metrics[name]; !ok {
			t.Errorf("exported %s %s is not listed", name, typ)
		}
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// scrape returns the driftcar metric families of /metrics by type.
func scrape(t *testing.T, admin string) map[string]string {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	// A collector that sends a metric it did not describe fails the
	// gather, and /metrics answers 500.
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: got %s: %s", resp.Status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("cannot parse /metrics: %v", err)
	}
	out := map[string]string{}
	for name, mf := range mfs {
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue
		}
		out[name] = strings.ToLower(mf.GetType().String())
	}
	return out
}

func startSidecar(t *testing.T, path, cfg string) *sidecar.Sidecar {
	t.Helper()
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sidecar.New(sidecar.Options{ConfigPath: path, CalibrationTicks: 2000, ManualTicks: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

var posted atomic.Int64

// post sends n requests, one row each, with ages and countries that
// vary.
// post sends n requests, each with its x-request-id, and returns the ids.
func post(t *testing.T, addr string, n int) []string {
	t.Helper()
	var ids []string
	hc := &fasthttp.HostClient{Addr: addr}
	defer hc.CloseIdleConnections()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	countries := []string{"DE", "FR", "US", "XX"}
	for range n {
		i := posted.Add(1)
		ids = append(ids, fmt.Sprintf("r-%d", i))
		req.Header.Set("X-Request-Id", ids[len(ids)-1])
		req.SetRequestURI("http://" + addr + "/v1/models/m:predict")
		req.Header.SetMethod("POST")
		req.SetBodyString(fmt.Sprintf(`{"instances":[{"age":%d,"country":%q}]}`, 10+i%70, countries[i%4]))
		if i%10 == 0 {
			req.SetRequestURI("http://" + addr + "/v1/chat/completions")
			req.SetBodyString(`{"model":"m","stream":true,"messages":[{"role":"user","content":"?"}]}`)
		}
		if err := hc.Do(req, resp); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// label posts a label for each id, as it comes: some find their
// prediction, others not yet.
func label(t *testing.T, admin string, ids []string) {
	t.Helper()
	items := make([]string, len(ids))
	for i, id := range ids {
		items[i] = fmt.Sprintf(`{"request_id":%q,"label":%d}`, id, i%2)
	}
	resp, err := http.Post("http://"+admin+"/api/v1/feedback", "application/json", strings.NewReader(`{"items":[`+strings.Join(items, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("feedback: %s", resp.Status)
	}
}

func writeReference(t *testing.T, path string) {
	t.Helper()
	var csv strings.Builder
	csv.WriteString("age,country,prediction\n")
	countries := []string{"DE", "FR", "US"}
	for i := range 1000 {
		fmt.Fprintf(&csv, "%d,%s,%g\n", 20+i%50, countries[i%3], float64(i)/1000)
	}
	specs := []payload.FeatureSpec{{Name: "age", Type: payload.Numeric}, {Name: "country", Type: payload.Categorical}}
	p, err := sketch.BuildReference(strings.NewReader(csv.String()), sketch.CSV, specs, sketch.BuildOptions{
		Prediction: &payload.PredictionSpec{Type: payload.Numeric},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WriteFile(path); err != nil {
		t.Fatal(err)
	}
}
