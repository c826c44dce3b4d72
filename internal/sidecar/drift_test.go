package sidecar

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/detector"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

// fakeClock is a settable clock shared by the sidecar's sketches and
// drift tests.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// receiver is a loopback webhook target that records what it got.
type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
	fail   atomic.Int32 // answer 500 to this many calls first
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if rc.fail.Add(-1) >= 0 {
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, body)
	rc.sigs = append(rc.sigs, r.Header.Get("X-Driftcar-Signature"))
	rc.mu.Unlock()
}

// received returns the bodies so far.
func (rc *receiver) received() [][]byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([][]byte(nil), rc.bodies...)
}

func (rc *receiver) calls() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.bodies)
}

func startDriftSidecar(t *testing.T, live, webhookURL string, clock *fakeClock) *running {
	t.Helper()
	ref := filepath.Join(t.TempDir(), "reference.json")
	writeReference(t, ref)
	t.Setenv("TEST_WEBHOOK_SECRET", "s3cret")
	yaml := samplingConfig(live, "{ file: "+ref+" }") + fmt.Sprintf(`sketch: { slices: 10, slice_duration: 1m }
drift:
  windows: [5m]
  evaluate_every: 10s
  min_samples: 100
  webhook: { url: %s, secret_env: TEST_WEBHOOK_SECRET, cooldown: 30m, retries: 3 }
`, webhookURL)
	path := filepath.Join(t.TempDir(), "driftcar.yaml")
	testutil.WriteFile(t, path, yaml)
	s, err := New(Options{ConfigPath: path, Now: clock.Now, CalibrationTicks: 20000, ManualTicks: true, WebhookBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, path: path, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

// postAges sends one request of 10 instances with the given age offset,
// and waits until the sampler has decoded it.
func postAges(t *testing.T, r *running, i, offset int) {
	t.Helper()
	var rows []string
	for j := range 10 {
		k := i*10 + j
		rows = append(rows, fmt.Sprintf(`{"age":%d,"income":%d,"country":%q}`, 20+k%50+offset, 1000+50*((k*7919)%1000), []string{"DE", "FR", "US"}[k%3]))
	}
	resp, err := http.Post("http://"+r.s.ProxyAddr()+"/v1/models/m:predict", "application/json",
		strings.NewReader(`{"instances":[`+strings.Join(rows, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
}

func waitRows(t *testing.T, r *running, want uint64) {
	t.Helper()
	tap := r.s.features.Current().Tap("predict")
	testutil.Eventually(t, 10*time.Second, fmt.Sprintf("%d rows decoded", want), func() bool {
		return tap.State() != nil && tap.State().Window(0, 10).N >= want
	})
}

func featureState(t *testing.T, r *running, feature string) string {
	t.Helper()
	v := r.s.currentMonitor().View()
	for _, f := range v.Routes[0].Features {
		if f.Name == feature {
			return f.State
		}
	}
	t.Fatalf("no feature %q in /api/drift", feature)
	return ""
}

func TestDriftDetectedAndWebhookCalled(t *testing.T) {
	live := testupstream.Start(t, uniformPredictions())
	rc := &receiver{}
	rc.fail.Store(1) // the first attempt fails; the retry succeeds
	target := httpServer(t, rc)
	clock := &fakeClock{}
	clock.Advance(time.Hour)
	r := startDriftSidecar(t, live, target, clock)

	// Stationary: 5 minutes at 300 rows a minute, drawn like the reference.
	req := 0
	for minute := range 5 {
		for range 30 {
			postAges(t, r, req, 0)
			req++
		}
		waitRows(t, r, uint64(300*(minute+1)))
		for range 6 {
			clock.Advance(10 * time.Second)
			r.s.TickDrift(clock.Now())
		}
	}
	if got := featureState(t, r, "age"); got != "ok" {
		t.Fatalf("age after 5 stationary minutes: got %s; want ok", got)
	}
	if rc.calls() != 0 {
		_, api, _ := get(t, "http://"+r.s.AdminAddr()+"/api/drift")
		t.Fatalf("webhook called %d times on stationary traffic:\n%s", rc.calls(), api)
	}

	// Shift age by +30 years for 3 minutes.
	for range 3 {
		for range 30 {
			postAges(t, r, req, 30)
			req++
		}
		waitRows(t, r, 1500)
		for range 6 {
			clock.Advance(10 * time.Second)
			r.s.TickDrift(clock.Now())
		}
	}
	if got := featureState(t, r, "age"); got != "drift" {
		t.Fatalf("age after the shift: got %s; want drift", got)
	}
	for _, f := range []string{"country", "income"} {
		if got := featureState(t, r, f); got == "drift" {
			t.Errorf("%s: got drift; it did not change", f)
		}
	}
	testutil.Eventually(t, 10*time.Second, "the webhook receives the alert", func() bool { return rc.calls() == 1 })
	rc.mu.Lock()
	body, sig := rc.bodies[0], rc.sigs[0]
	rc.mu.Unlock()
	if want := detector.Sign([]byte("s3cret"), body); sig != want {
		t.Errorf("signature: got %q; want %q", sig, want)
	}
	var p detector.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("webhook body: %v\n%s", err, body)
	}
	if p.Model != "credit-risk" || p.Route != "predict" || len(p.Features) == 0 || p.Features[0].Name != "age" || p.Reference.Hash == "" {
		t.Errorf("webhook payload: got %+v", p)
	}

	_, metrics, _ := get(t, "http://"+r.s.AdminAddr()+"/metrics")
	for _, want := range []string{
		`driftcar_drift_state{feature="age",model="credit-risk",route="predict"} 3`,
		`driftcar_drift_statistic{feature="age",model="credit-risk",route="predict",test="ks",window="5m"}`,
		`driftcar_drift_threshold{feature="age",model="credit-risk",route="predict",test="ks",window="5m"}`,
		`driftcar_drift_window_samples{feature="age",model="credit-risk",route="predict",window="5m"}`,
		`driftcar_drift_dataset_state{model="credit-risk",route="predict"} 3`,
		`driftcar_webhook_notifications_total{model="credit-risk",result="sent"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	checkPromtool(t, metrics)
	_, api, _ := get(t, "http://"+r.s.AdminAddr()+"/api/drift")
	if !strings.Contains(api, `"to": "drift"`) {
		t.Errorf("/api/drift history lacks the change to drift:\n%s", api)
	}

	// A change of the webhook settings keeps the monitor, its state and
	// the webhook's counts and cooldown.
	monitor := r.s.currentMonitor()
	cfg, err := os.ReadFile(r.path)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, r.path, strings.Replace(string(cfg), "retries: 3", "retries: 2", 1))
	if err := r.s.Reload(); err != nil {
		t.Fatal(err)
	}
	if r.s.currentMonitor() != monitor {
		t.Error("a webhook setting change replaced the drift monitor")
	}
	for range 6 {
		clock.Advance(10 * time.Second)
		r.s.TickDrift(clock.Now())
	}
	if got := featureState(t, r, "age"); got != "drift" {
		t.Errorf("age after the reload: got %s; want drift still", got)
	}
	_, metrics, _ = get(t, "http://"+r.s.AdminAddr()+"/metrics")
	if want := `driftcar_webhook_notifications_total{model="credit-risk",result="sent"} 1`; !strings.Contains(metrics, want) || rc.calls() != 1 {
		t.Errorf("after the reload: /metrics lacks %s or the webhook was called again (%d calls)", want, rc.calls())
	}
	testutil.Eventually(t, 5*time.Second, "driftcar_webhook_pending 0", func() bool {
		_, metrics, _ := get(t, "http://"+r.s.AdminAddr()+"/metrics")
		return strings.Contains(metrics, `driftcar_webhook_pending{model="credit-risk"} 0`)
	})
}

// uniformPredictions answers 10 predictions per request that, over many
// requests, cover [0, 1) evenly, like the reference's.
func uniformPredictions() fasthttp.RequestHandler {
	var n atomic.Int64
	return func(ctx *fasthttp.RequestCtx) {
		k := n.Add(1)
		var preds []string
		for j := range int64(10) {
			preds = append(preds, fmt.Sprintf("%g", float64(((k*10+j)*7919)%1000)/1000))
		}
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"predictions":[` + strings.Join(preds, ",") + `]}`)
	}
}

func httpServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln := testutil.Listen(t, "127.0.0.1:0")
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/drift"
}

// TestWebhookWaitsForAllItsConditions: with `when: all [drift, error
// rate above 20%]`, drift alone does not call the webhook; the call
// comes once the route's error rate over the last 5 minutes passes 20%
// too.
func TestWebhookWaitsForAllItsConditions(t *testing.T) {
	var failing atomic.Bool
	var n atomic.Int64
	ok := uniformPredictions()
	live := testupstream.Start(t, func(ctx *fasthttp.RequestCtx) {
		if failing.Load() && n.Add(1)%4 != 0 {
			ctx.SetStatusCode(503)
			ctx.SetBodyString(`{"error":"overloaded"}`)
			return
		}
		ok(ctx)
	})
	rc := &receiver{}
	target := httpServer(t, rc)
	clock := &fakeClock{}
	clock.Advance(time.Hour)
	ref := filepath.Join(t.TempDir(), "reference.json")
	writeReference(t, ref)
	path := filepath.Join(t.TempDir(), "driftcar.yaml")
	testutil.WriteFile(t, path, samplingConfig(live, "{ file: "+ref+" }")+fmt.Sprintf(`sketch: { slices: 10, slice_duration: 1m }
drift:
  windows: [5m]
  evaluate_every: 10s
  min_samples: 100
  webhook:
    url: %s
    retries: 3
    when: { all: [ { drift: true }, { error_rate_above: 0.2 } ] }
`, target))
	s, err := New(Options{ConfigPath: path, Now: clock.Now, CalibrationTicks: 20000, ManualTicks: true, WebhookBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, path: path, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	req := 0
	minute := func(offset int, rows uint64) {
		for range 30 {
			postAges(t, r, req, offset)
			req++
		}
		waitRows(t, r, rows)
		for range 6 {
			clock.Advance(10 * time.Second)
			r.s.TickDrift(clock.Now())
		}
	}
	for m := range 5 {
		minute(0, uint64(300*(m+1)))
	}
	for range 3 {
		minute(30, 1500) // age shifted: drift, and no errors
	}
	if got := featureState(t, r, "age"); got != "drift" {
		t.Fatalf("age after the shift: got %s; want drift", got)
	}
	if rc.calls() != 0 {
		t.Fatalf("the webhook was called on drift alone (%d calls); its when also needs errors", rc.calls())
	}
	failing.Store(true) // three in four requests now fail
	minute(30, 1500)
	minute(30, 1500) // the 5-minute window: about 45 of 150 requests failed
	testutil.Eventually(t, 10*time.Second, "the webhook called once both conditions hold", func() bool { return rc.calls() == 1 })
}
