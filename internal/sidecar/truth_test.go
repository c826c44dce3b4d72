package sidecar

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
	"google.golang.org/grpc/metadata"

	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

// scoreServer answers kserve-v1 requests with the score the instance
// carries in field: the test decides every arm's predictions.
func scoreServer(t *testing.T, field string) string {
	return testupstream.Start(t, func(ctx *fasthttp.RequestCtx) {
		v, err := fastjson.ParseBytes(ctx.PostBody())
		if err != nil {
			ctx.SetStatusCode(400)
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBodyString(fmt.Sprintf(`{"predictions":[%g]}`, v.GetFloat64("instances", "0", field)))
	})
}

// labelled is one request sent with its true label.
type labelled struct {
	id    string
	label int
}

// sendScored sends n requests whose live score is right with probability
// liveAcc and whose shadow score with shadowAcc, and returns their labels.
func sendScored(t *testing.T, proxy string, rng *rand.Rand, from, n int, liveAcc, shadowAcc float64) []labelled {
	t.Helper()
	out := make([]labelled, 0, n)
	score := func(label int, acc float64) float64 {
		right := rng.Float64() < acc
		if (label == 1) == right {
			return 0.55 + 0.4*rng.Float64()
		}
		return 0.05 + 0.4*rng.Float64()
	}
	for i := from; i < from+n; i++ {
		label := rng.IntN(2)
		id := fmt.Sprintf("req-%05d", i)
		body := fmt.Sprintf(`{"instances":[{"x":%g,"s":%g}]}`, score(label, liveAcc), score(label, shadowAcc))
		req, _ := http.NewRequest(http.MethodPost, "http://"+proxy+"/v1/models/m:predict", strings.NewReader(body))
		req.Header.Set("X-Request-Id", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %s: status %d", id, resp.StatusCode)
		}
		out = append(out, labelled{id, label})
	}
	return out
}

// postLabels sends the labels to the feedback API and returns its answer.
func postLabels(t *testing.T, admin, body string) (int, map[string]json.RawMessage) {
	t.Helper()
	resp, err := http.Post(admin+"/api/v1/feedback", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans map[string]json.RawMessage
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &ans); err != nil {
		t.Fatalf("feedback answer %d is not JSON: %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, ans
}

func labelsBody(ls []labelled, extra ...string) string {
	items := make([]string, 0, len(ls)+len(extra))
	for _, l := range ls {
		items = append(items, fmt.Sprintf(`{"request_id":%q,"label":%d}`, l.id, l.label))
	}
	return `{"items":[` + strings.Join(append(items, extra...), ",") + `]}`
}

// TestGroundTruthEndToEnd: predictions of live and shadow are kept by
// request id; labels posted later join them, bad ones are named; the
// per-arm accuracy, the shadow's paired verdict (better by the margin,
// sent as a promotion event) and the performance test against the first
// labelled rows all show in /api/ground-truth and the metrics; a drop of
// the live arm's accuracy moves its performance state to drift.
func TestGroundTruthEndToEnd(t *testing.T) {
	live, shadow := scoreServer(t, "x"), scoreServer(t, "s")
	hook := &receiver{}
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close)
	clock := &fakeClock{}
	clock.Advance(time.Duration(1e9) * time.Second)
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
model: credit-risk
upstreams:
  live:   { address: %s }
  shadow: { address: %s }
routes:
  - name: predict
    protocol: kserve-v1
    split: [{ upstream: live, weight: 1 }]
    shadow: { upstream: shadow, fraction: 1 }
prediction: { type: numeric }
sketch: { slices: 10, slice_duration: 1m }
drift:
  windows: [5m]
  webhook: { url: %s, cooldown: 0s }
ground_truth:
  label: { type: binary }
  min_labels: 100
  reference_rows: 400
`, live, shadow, hookSrv.URL)
	r := startManual(t, cfg, clock)
	admin := "http://" + r.s.AdminAddr()
	rng := rand.New(rand.NewPCG(7, 8))

	// 400 requests, live right 80% of the time, the shadow 95%.
	sent := sendScored(t, r.s.ProxyAddr(), rng, 0, 400, 0.80, 0.95)
	waitMetrics(t, admin, "every live and shadow prediction stored",
		`driftcar_ground_truth_predictions_total{model="credit-risk",side="live"} 400`,
		`driftcar_ground_truth_predictions_total{model="credit-risk",side="shadow"} 400`)

	status, ans := postLabels(t, admin, labelsBody(sent,
		`{"request_id":"never-sent","label":1}`, `{"request_id":"req-00000","label":"maybe"}`))
	if status != 200 || string(ans["joined"]) != "400" || string(ans["unmatched"]) != "1" {
		t.Fatalf("feedback: got %d %v; want 400 joined, 1 unmatched", status, ans)
	}
	var invalid []struct {
		Index int    `json:"index"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(ans["invalid"], &invalid); err != nil || len(invalid) != 1 || invalid[0].Index != 401 || !strings.Contains(invalid[0].Error, "maybe") {
		t.Errorf("invalid: got %s; want item 401 named with its label", ans["invalid"])
	}
	if status, ans := postLabels(t, admin, labelsBody(sent[:3])); status != 200 || string(ans["duplicate"]) != "3" {
		t.Errorf("labels sent twice: got %d %v; want 3 duplicates", status, ans)
	}

	r.s.TickGroundTruth(clock.Now())
	v := groundTruthView(t, admin)
	if len(v.Routes) != 1 || v.Routes[0].Reference == nil || v.Routes[0].Reference.From != "live" || v.Routes[0].Reference.Rows != 400 {
		t.Fatalf("the first 400 labelled live rows do not set the reference: %+v", v.Routes)
	}
	arms := map[string]armView{}
	for _, a := range v.Routes[0].Arms {
		arms[a.Arm] = a
	}
	liveAcc, shadowAcc := arms["live"].Windows[0].Accuracy, arms["shadow"].Windows[0].Accuracy
	if arms["live"].Labels != 400 || liveAcc == nil || *liveAcc < 0.74 || *liveAcc > 0.86 {
		t.Errorf("live arm: %+v; want 400 labels at accuracy 0.80±0.06", arms["live"])
	}
	if arms["shadow"].Labels != 400 || shadowAcc == nil || *shadowAcc < 0.91 {
		t.Errorf("shadow arm: %+v; want 400 labels at accuracy ≈ 0.95", arms["shadow"])
	}
	vd := arms["shadow"].Verdict
	if vd == nil || vd.Verdict != "better_by_margin" || !vd.Paired || vd.N != 400 {
		t.Fatalf("shadow verdict: %+v; want better_by_margin, paired, on 400 pairs", vd)
	}
	testutil.Eventually(t, 10*time.Second, "a promotion event at the webhook", func() bool {
		for _, b := range hook.received() {
			if strings.Contains(string(b), `"event":"promotion"`) && strings.Contains(string(b), `"challenger":"shadow"`) {
				return true
			}
		}
		return false
	})
	waitMetrics(t, admin, "the labels and outcomes counted",
		`driftcar_labels_total{model="credit-risk",result="joined",route="predict"} 400`,
		`driftcar_labels_total{model="credit-risk",result="duplicate",route="predict"} 3`,
		`driftcar_labels_total{model="credit-risk",result="unmatched",route="unknown"} 1`,
		`driftcar_challenger_verdict{arm="shadow",model="credit-risk",route="predict",verdict="better_by_margin"} 1`,
		`driftcar_performance_labels{arm="live",model="credit-risk",route="predict",window="5m"} 400`)

	// The live arm's accuracy drops to 0.55: its performance drifts.
	state := func() string {
		for _, a := range groundTruthView(t, admin).Routes[0].Arms {
			if a.Arm == "live" {
				return a.State
			}
		}
		return ""
	}
	if s := state(); s == "drift" {
		t.Fatalf("live drifted on its own reference traffic")
	}
	n := 400
	for range 8 {
		clock.Advance(30 * time.Second)
		batch := sendScored(t, r.s.ProxyAddr(), rng, n, 300, 0.55, 0.95)
		n += 300
		waitMetrics(t, admin, "the batch's predictions stored",
			fmt.Sprintf(`driftcar_ground_truth_predictions_total{model="credit-risk",side="shadow"} %d`, n))
		if status, ans := postLabels(t, admin, labelsBody(batch)); status != 200 || string(ans["joined"]) != "300" {
			t.Fatalf("feedback: got %d %v", status, ans)
		}
		r.s.TickGroundTruth(clock.Now())
		if state() == "drift" {
			break
		}
	}
	if s := state(); s != "drift" {
		t.Fatalf("live performance state after the drop: got %s; want drift\n%+v", s, groundTruthView(t, admin))
	}
	if _, body, _ := get(t, admin+"/api/drift"); !strings.Contains(body, `"arm": "live"`) || !strings.Contains(body, `"state": "drift"`) {
		t.Errorf("/api/drift does not show the live arm's performance drift:\n%s", body)
	}
	testutil.Eventually(t, 10*time.Second, "a performance_drift event at the webhook", func() bool {
		for _, b := range hook.received() {
			if strings.Contains(string(b), `"event":"performance_drift"`) && strings.Contains(string(b), `"arm":"live"`) {
				return true
			}
		}
		return false
	})
}

// TestFeedbackNeedsTheAdminToken: the feedback API is behind admin_token,
// and without ground_truth it says there is nothing to join.
func TestFeedbackNeedsTheAdminToken(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.5]}`))
	r := start(t, fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
admin_token: s3cret
upstreams:
  live: { address: %s }
routes:
  - name: predict
    split: [{ upstream: live, weight: 1 }]
`, live))
	url := "http://" + r.s.AdminAddr() + "/api/v1/feedback"
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"items":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the token: got %d; want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"items":[]}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "ground_truth is not configured") {
		t.Errorf("without ground_truth: got %d %s; want 404 naming ground_truth", resp.StatusCode, body)
	}
}

type armView struct {
	Arm     string `json:"arm"`
	Role    string `json:"role"`
	Labels  uint64 `json:"labels"`
	State   string `json:"state"`
	Windows []struct {
		Labels   uint64   `json:"labels"`
		Accuracy *float64 `json:"accuracy"`
	} `json:"windows"`
	Verdict *struct {
		Verdict string `json:"verdict"`
		Paired  bool   `json:"paired"`
		N       uint64 `json:"n"`
	} `json:"verdict"`
}

type truthView struct {
	Routes []struct {
		Route     string `json:"route"`
		Reference *struct {
			From string `json:"from"`
			Rows uint64 `json:"rows"`
		} `json:"reference"`
		Arms []armView `json:"arms"`
	} `json:"routes"`
}

func groundTruthView(t *testing.T, admin string) truthView {
	t.Helper()
	_, body, _ := get(t, admin+"/api/ground-truth")
	var v truthView
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("/api/ground-truth: %v: %s", err, body)
	}
	return v
}

// TestGroundTruthOverGRPC: ModelInfer answers are kept by the request's id
// field (else x-request-id) and joined with labels as REST answers are.
func TestGroundTruthOverGRPC(t *testing.T) {
	live := startInferServer(t, func(n int64, _ metadata.MD, _ []byte) ([]byte, error) {
		return inferResponse(float32(n%2)*0.5 + 0.25), nil // 0.25, 0.75, ...
	})
	clock := &fakeClock{}
	clock.Advance(time.Hour)
	r := startManual(t, grpcRouteConfig(live.addr, live.addr, live.addr, live.addr, 1, 0, `prediction: { type: numeric }
ground_truth: { label: { type: binary }, min_labels: 10, reference_rows: 10 }
`), clock)
	cc := grpcClient(t, r.s.GRPCAddr())
	rows := []row{{30, 2000, "FR"}}
	var items []string
	for i := range 20 {
		id := fmt.Sprintf("g-%02d", i)
		req, kv := inferRequest(id, rows, false), []string(nil)
		if i%2 == 1 {
			req, kv = inferRequest("", rows, false), []string{"x-request-id", id}
		}
		if _, _, err := modelInfer(cc, req, kv...); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		// The server answers 0.25 to odd calls, 0.75 to even ones (n
		// counts from 1); label 1 makes the 0.75 answers right.
		items = append(items, fmt.Sprintf(`{"request_id":%q,"label":1}`, id))
	}
	admin := "http://" + r.s.AdminAddr()
	waitMetrics(t, admin, "every answer stored",
		`driftcar_ground_truth_predictions_total{model="credit-risk",side="live"} 20`)
	status, ans := postLabels(t, admin, `{"items":[`+strings.Join(items, ",")+`]}`)
	if status != 200 || string(ans["joined"]) != "20" {
		t.Fatalf("feedback: got %d %v; want 20 joined", status, ans)
	}
	r.s.TickGroundTruth(clock.Now())
	v := groundTruthView(t, admin)
	a := v.Routes[0].Arms[0]
	if a.Arm != "live" || a.Labels != 20 || a.Windows[0].Accuracy == nil || *a.Windows[0].Accuracy != 0.5 {
		t.Fatalf("live arm over gRPC: %+v; want 20 labels at accuracy 0.5", a)
	}
}

// TestGroundTruthLabelsFromKafka: labels produced to the configured topic,
// keyed by request id, are joined as the feedback API joins them.
func TestGroundTruthLabelsFromKafka(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "labels"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	brokers := cluster.ListenAddrs()
	live := scoreServer(t, "x")
	clock := &fakeClock{}
	clock.Advance(time.Hour)
	r := startManual(t, fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
model: credit-risk
upstreams:
  live: { address: %s }
routes:
  - name: predict
    protocol: kserve-v1
    split: [{ upstream: live, weight: 1 }]
prediction: { type: numeric }
ground_truth:
  label: { type: binary }
  kafka: { brokers: [%q], topic: labels, group: test }
`, live, brokers[0]), clock)
	sent := sendScored(t, r.s.ProxyAddr(), rand.New(rand.NewPCG(1, 2)), 0, 30, 0.8, 0.8)
	admin := "http://" + r.s.AdminAddr()
	waitMetrics(t, admin, "every prediction stored", `driftcar_ground_truth_predictions_total{model="credit-risk",side="live"} 30`)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("labels"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, l := range sent {
		rec := &kgo.Record{Key: []byte(l.id), Value: fmt.Appendf(nil, `{"label":%d}`, l.label)}
		if err := cl.ProduceSync(t.Context(), rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.ProduceSync(t.Context(), &kgo.Record{Key: []byte("req-00000"), Value: []byte("not json")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	waitMetrics(t, admin, "the topic's labels joined and the bad record counted",
		`driftcar_labels_total{model="credit-risk",result="joined",route="predict"} 30`,
		`driftcar_labels_total{model="credit-risk",result="invalid",route="unknown"} 1`)
}
