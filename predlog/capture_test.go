package predlog

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
	"github.com/driftcar/driftcar/proxy"
	"github.com/driftcar/driftcar/shadow"
)

// jsonSink keeps each record as decoded JSON, by request id.
type jsonSink struct {
	mu   sync.Mutex
	recs map[string]map[string]any
}

func (s *jsonSink) Write(_ context.Context, batch []*Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range batch {
		var m map[string]any
		if err := json.Unmarshal(r.AppendJSON(nil), &m); err != nil {
			return err
		}
		s.recs[r.RequestID] = m
	}
	return nil
}

func (s *jsonSink) Ready() error                { return nil }
func (s *jsonSink) Close(context.Context) error { return nil }

func (s *jsonSink) get() map[string]map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]map[string]any, len(s.recs))
	for k, v := range s.recs {
		out[k] = v
	}
	return out
}

// captureEnv is a proxy on loopback with a capture (and optionally a
// shadow) on its one route, "predict", writing to a jsonSink.
type captureEnv struct {
	addr    string
	sink    *jsonSink
	metrics *Metrics
	capture *Capture
}

func startCapture(t *testing.T, live, shadowAddr string, opts CaptureOptions) *captureEnv {
	t.Helper()
	reg := prometheus.NewRegistry()
	e := &captureEnv{sink: &jsonSink{recs: map[string]map[string]any{}}, metrics: NewMetrics(reg)}
	log, err := New(zap.NewNop(), e.metrics, SinkSpec{Name: "mem", Sink: e.sink, Queue: QueueOptions{BatchSize: 1}})
	if err != nil {
		t.Fatal(err)
	}
	opts.Model, opts.Log = "credit-risk", log
	opts.Routes = []CaptureRoute{{Name: "predict", Protocol: payload.KServeV1, Fraction: opts.Routes[0].Fraction, Live: "live"}}
	opts.Features = []payload.FeatureSpec{{Name: "age", Type: payload.Numeric}, {Name: "country", Type: payload.Categorical}}
	opts.Prediction = &payload.PredictionSpec{Type: payload.Numeric}
	if e.capture, err = NewCapture(opts); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(fmt.Appendf(nil, "upstreams:\n  live: { address: %s }\nroutes:\n  - name: predict\n    split: [{ upstream: live, weight: 1 }]\n", live))
	if err != nil {
		t.Fatal(err)
	}
	pm := proxy.NewMetrics(reg)
	srv, err := proxy.New(cfg, proxy.Options{Metrics: pm})
	if err != nil {
		t.Fatal(err)
	}
	taps := proxy.RouteTaps{Recorder: e.capture.Route("predict")}
	if shadowAddr != "" {
		m, err := shadow.New(shadow.Spec{
			Route: "predict", Fraction: 1,
			Upstream: shadow.Upstream{Name: "shadow", Address: shadowAddr, Timeout: 5 * time.Second, MaxConns: 4},
			Compare:  shadow.Compare{AbsTolerance: 1e-6},
		}, shadow.Options{Metrics: shadow.NewMetrics(reg, pm.UpstreamDuration()), Answers: e.capture})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Stop(); m.Wait() })
		taps.Mirror = m
	}
	srv.Apply(cfg, proxy.Taps{"predict": taps})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		e.capture.Stop()
		_ = log.Close(context.Background())
	})
	e.addr = ln.Addr().String()
	return e
}

func (e *captureEnv) post(t *testing.T, id, body string) int {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + e.addr + "/v1/models/m:predict")
	req.Header.SetMethod("POST")
	req.Header.Set("X-Request-Id", id)
	req.Header.Set("X-User-Id", "u-7")
	req.SetBodyString(body)
	if err := fasthttp.Do(req, resp); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode()
}

func (e *captureEnv) waitRecords(t *testing.T, n int) map[string]map[string]any {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, strconv.Itoa(n)+" records", func() bool { return len(e.sink.get()) >= n })
	return e.sink.get()
}

const twoRows = `{"instances":[{"age":31,"country":"DE","ssn":"123"},{"age":47,"country":"FR","ssn":"456"}]}`

func TestCaptureLogsFeaturesAndPredictions(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.25,0.75]}`))
	e := startCapture(t, live, "", CaptureOptions{
		Routes: []CaptureRoute{{Fraction: 1}}, Bodies: true, MaxBody: 1 << 10, Headers: []string{"X-User-Id"},
		Redactor: mustRedactor(t, []string{"instances[*].ssn"}),
	})
	e.post(t, "r-1", twoRows)
	rec := e.waitRecords(t, 1)["r-1"]
	want := map[string]any{
		"request_id": "r-1", "model": "credit-risk", "route": "predict", "arm": "live", "status": 200.0,
		"features":   []any{map[string]any{"age": 31.0, "country": "DE"}, map[string]any{"age": 47.0, "country": "FR"}},
		"prediction": []any{0.25, 0.75},
	}
	for k, w := range want {
		if got, _ := json.Marshal(rec[k]); string(got) != mustJSON(w) {
			t.Errorf("%s: got %s; want %s", k, got, mustJSON(w))
		}
	}
	if body, _ := rec["request_body"].(string); body != `{"instances":[{"age":31,"country":"DE"},{"age":47,"country":"FR"}]}` {
		t.Errorf("request_body not redacted: %v", rec["request_body"])
	}
	if lat, _ := rec["latency_seconds"].(float64); !(lat > 0) {
		t.Errorf("latency_seconds: got %v", rec["latency_seconds"])
	}
	if _, ok := rec["shadow"]; ok {
		t.Errorf("a request that was not mirrored has a shadow: %v", rec["shadow"])
	}
	if got := mustJSON(rec["headers"]); got != `{"X-User-Id":"u-7"}` {
		t.Errorf("headers: got %s; want only the allow-listed X-User-Id", got)
	}
}

// TestCaptureErrorsAndShare: at fraction 0 only failures are logged, each
// with its reason; at 0.5 about half of the requests, by request id.
func TestCaptureErrorsAndShare(t *testing.T) {
	dead := testutil.FreePort(t)
	e := startCapture(t, dead, "", CaptureOptions{Routes: []CaptureRoute{{Fraction: 0}}, Errors: true, MaxBody: 1 << 10})
	if got := e.post(t, "dead-1", twoRows); got != 502 {
		t.Fatalf("status: got %d; want 502", got)
	}
	rec := e.waitRecords(t, 1)["dead-1"]
	if rec["status"] != 502.0 || rec["error"] != "refused" {
		t.Errorf("failed request: got status %v, error %v; want 502, refused", rec["status"], rec["error"])
	}
	if feats, _ := rec["features"].([]any); len(feats) != 2 {
		t.Errorf("a failed request keeps its features: got %v", rec["features"])
	}
}

// TestCaptureJoinsTheShadow: with mismatches on and fraction 0, exactly
// the requests whose shadow disagreed are logged, with the shadow's side.
func TestCaptureJoinsTheShadow(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.25,0.75]}`))
	var mu sync.Mutex
	n := 0
	shadowAddr := testupstream.Start(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		ctx.SetContentType("application/json")
		if k%4 == 0 {
			ctx.SetBodyString(`{"predictions":[0.25,0.9]}`) // every 4th disagrees
			return
		}
		ctx.SetBodyString(`{"predictions":[0.25,0.75]}`)
	})
	e := startCapture(t, live, shadowAddr, CaptureOptions{Routes: []CaptureRoute{{Fraction: 0}}, Mismatches: true, MaxBody: 1 << 10})
	for i := range 20 {
		e.post(t, "m-"+strconv.Itoa(i), twoRows)
	}
	recs := e.waitRecords(t, 5)
	// Wait for the matching ones to be released rather than logged.
	testutil.Eventually(t, 10*time.Second, "the join table drains", func() bool { return e.capture.join.len() == 0 })
	recs = e.sink.get()
	if len(recs) != 5 {
		t.Fatalf("got %d records; want the 5 mismatches", len(recs))
	}
	for id, rec := range recs {
		sh, _ := rec["shadow"].(map[string]any)
		if sh == nil || sh["outcome"] != "mismatch" || sh["status"] != 200.0 || mustJSON(sh["prediction"]) != `[0.25,0.9]` {
			t.Errorf("%s: shadow: got %v", id, rec["shadow"])
		}
	}
}

func TestCaptureCountsAFullQueue(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.25,0.75]}`))
	e := startCapture(t, live, "", CaptureOptions{Routes: []CaptureRoute{{Fraction: 1}}, Queue: 1, MaxBody: 1 << 10})
	close(e.capture.stop) // the worker takes nothing more
	<-e.capture.done
	e.capture.stop, e.capture.done = make(chan struct{}), make(chan struct{})
	go func() { <-e.capture.stop; close(e.capture.done) }()
	for i := range 5 {
		e.post(t, "q-"+strconv.Itoa(i), twoRows)
	}
	if got := promtest.ToFloat64(e.metrics.dropped.WithLabelValues(CaptureSink, ReasonCaptureFull)); got != 4 {
		t.Errorf("capture_queue_full: got %v; want 4 (one fits the queue)", got)
	}
}

func mustRedactor(t *testing.T, drop []string) *payload.Redactor {
	t.Helper()
	r, err := payload.NewRedactor(drop, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestCaptureSparesWorkWhenEverySinkIsFull: with every sink's queue
// full, the capture neither copies nor decodes a request, and counts it
// as each sink's drop, so every request is still accounted for.
func TestCaptureSparesWorkWhenEverySinkIsFull(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	hung := newMemSink()
	hung.gate = make(chan struct{}) // never opens
	log, err := New(zap.NewNop(), m, SinkSpec{Name: "hung", Sink: hung, Queue: QueueOptions{MaxRecords: 2, BatchSize: 1, WriteTimeout: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCapture(CaptureOptions{Model: "m", Log: log, MaxBody: 1 << 10,
		Routes: []CaptureRoute{{Name: "predict", Protocol: payload.KServeV1, Fraction: 1, Live: "live"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = log.Close(ctx)
	})
	req, resp := &fasthttp.Request{}, &fasthttp.Response{}
	req.SetBodyString(twoRows)
	resp.SetBodyString(`{"predictions":[0.25,0.75]}`)
	rec := c.Route("predict")
	const n = 50
	for i := range n {
		rec.Record(req, resp, proxy.Exchange{Arm: "live", RequestID: []byte("s-" + strconv.Itoa(i))})
		// Let the worker hand each one on, so the sink's queue fills.
		testutil.Eventually(t, 5*time.Second, "the capture queue drains", func() bool { return len(c.queue) == 0 })
	}
	dropped := promtest.ToFloat64(m.dropped.WithLabelValues("hung", ReasonQueueFull))
	held := float64(len(log.runners[0].q)) + float64(log.runners[0].depth.Load()-int64(len(log.runners[0].q)))
	if dropped+held != n || dropped < n-3 {
		t.Errorf("dropped %v + held %v; want all %d accounted for, all but at most 3 dropped", dropped, held, n)
	}
}
