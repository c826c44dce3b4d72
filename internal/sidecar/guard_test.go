package sidecar

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

// startGuarded runs a sidecar splitting 50/50 between live and canary,
// sampling every request, with the canary guard on and manual ticks.
func startGuarded(t *testing.T, live, canary string, clock *fakeClock) *running {
	t.Helper()
	ref := filepath.Join(t.TempDir(), "reference.json")
	writeReference(t, ref)
	yaml := fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
model: credit-risk
upstreams:
  live:   { address: %s }
  canary: { address: %s }
routes:
  - name: predict
    split:
      - { upstream: live,   weight: 50 }
      - { upstream: canary, weight: 50 }
    sample: { fraction: 1, queue: 8192 }
features:
  - { name: age, type: numeric }
prediction: { type: numeric }
reference: { file: %s }
sketch: { slices: 10, slice_duration: 1m }
drift: { windows: [5m], min_samples: 100 }
canary_guard: { min_requests: 200, window: 1m }
`, live, canary, ref)
	path := filepath.Join(t.TempDir(), "driftcar.yaml")
	testutil.WriteFile(t, path, yaml)
	s, err := New(Options{ConfigPath: path, Now: clock.Now, CalibrationTicks: 20000, ManualTicks: true})
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

// burst sends n requests of one instance from 8 connections.
func burst(t *testing.T, addr string, n int) {
	t.Helper()
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: 8}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for i := w; i < n; i += 8 {
				req.SetRequestURI("http://" + addr + "/v1/models/m:predict")
				req.Header.SetMethod("POST")
				req.SetBodyString(fmt.Sprintf(`{"instances":[{"age":%d}]}`, 20+i%50))
				if err := hc.Do(req, resp); err != nil {
					t.Errorf("request %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	hc.CloseIdleConnections()
}

// onePrediction answers one prediction per request from a sequence that
// covers [lo, lo+0.999) evenly.
func onePrediction(lo float64, delay time.Duration, errorEvery int) fasthttp.RequestHandler {
	var mu sync.Mutex
	n := 0
	return func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		if delay > 0 {
			time.Sleep(delay)
		}
		if errorEvery > 0 && k%errorEvery == 0 {
			ctx.SetStatusCode(500)
			ctx.SetBodyString(`{"error":"boom"}`)
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBodyString(fmt.Sprintf(`{"predictions":[%g]}`, min(0.999, lo+float64((k*7919)%1000)/1000)))
	}
}

// rollUntilRolledBack sends 600 requests a tick, 10 s of clock apart,
// until the guard rolls the canary back, for at most 12 ticks.
func rollUntilRolledBack(t *testing.T, r *running, clock *fakeClock) {
	t.Helper()
	for tick := 0; tick < 12 && canaryState(t, r) != "rolled_back"; tick++ {
		burst(t, r.s.ProxyAddr(), 600)
		waitSampled(t, r)
		clock.Advance(10 * time.Second)
		r.s.TickDrift(clock.Now())
	}
	if got := canaryState(t, r); got != "rolled_back" {
		t.Fatalf("canary state: got %s; want rolled_back\n%+v", got, r.s.currentMonitor().View().Canary)
	}
}

func canaryState(t *testing.T, r *running) string {
	t.Helper()
	for _, g := range r.s.currentMonitor().View().Canary {
		if g.Route == "predict" {
			return g.State
		}
	}
	return ""
}

func TestCanaryGuardRollsBackBadCanaries(t *testing.T) {
	cases := []struct {
		name   string
		canary fasthttp.RequestHandler
		reason string
	}{
		{"errors", onePrediction(0, 0, 5), "error_rate"},
		{"slow", onePrediction(0, 30*time.Millisecond, 0), "latency"},
		{"predictions shift", onePrediction(0.4, 0, 0), "prediction_drift"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			live := testupstream.Start(t, onePrediction(0, 0, 0))
			canary := testupstream.Start(t, tc.canary)
			clock := &fakeClock{}
			clock.Advance(time.Hour)
			r := startGuarded(t, live, canary, clock)
			rollUntilRolledBack(t, r, clock)
			_, metrics, _ := get(t, "http://"+r.s.AdminAddr()+"/metrics")
			want := fmt.Sprintf(`driftcar_canary_rollback_total{model="credit-risk",reason=%q,route="predict"} 1`, tc.reason)
			if !strings.Contains(metrics, want) {
				t.Errorf("/metrics lacks %s\n%+v", want, r.s.currentMonitor().View().Canary)
			}
			if !strings.Contains(metrics, `driftcar_canary_state{model="credit-risk",route="predict"} 2`) {
				t.Error("driftcar_canary_state is not 2 (rolled_back)")
			}
			before := r.s.proxy.Stats("predict")[1].Requests
			burst(t, r.s.ProxyAddr(), 200)
			if after := r.s.proxy.Stats("predict")[1].Requests; after != before {
				t.Errorf("the rolled-back canary still got %d requests", after-before)
			}
		})
	}
}

func TestCanaryGuardKeepsAHealthyCanary(t *testing.T) {
	live := testupstream.Start(t, onePrediction(0, 0, 0))
	canary := testupstream.Start(t, onePrediction(0, 0, 0))
	clock := &fakeClock{}
	clock.Advance(time.Hour)
	r := startGuarded(t, live, canary, clock)
	// 60 ticks: 10 simulated minutes of evaluations on overlapping windows.
	for range 60 {
		burst(t, r.s.ProxyAddr(), 400)
		waitSampled(t, r)
		clock.Advance(10 * time.Second)
		r.s.TickDrift(clock.Now())
		if got := canaryState(t, r); got == "rolled_back" {
			t.Fatalf("healthy canary rolled back: %+v", r.s.currentMonitor().View().Canary)
		}
	}
	if got := canaryState(t, r); got != "ok" {
		t.Errorf("canary state: got %s; want ok", got)
	}
}

// waitSampled waits until the sampler queue is empty.
func waitSampled(t *testing.T, r *running) {
	t.Helper()
	tap := r.s.features.Current().Tap("predict")
	testutil.Eventually(t, 10*time.Second, "the sample queue drains", func() bool { return tap.QueueLength() == 0 })
}

// TestCanaryGuardRejudgesAfterAConfigChange: a rollback holds until the
// config changes; the next config restores the weight and a fresh guard
// judges the canary again, while the rollback total keeps counting.
func TestCanaryGuardRejudgesAfterAConfigChange(t *testing.T) {
	live := testupstream.Start(t, onePrediction(0, 0, 0))
	canary := testupstream.Start(t, onePrediction(0, 0, 5))
	clock := &fakeClock{}
	clock.Advance(time.Hour)
	r := startGuarded(t, live, canary, clock)
	monitor := r.s.currentMonitor()
	rollUntilRolledBack(t, r, clock)

	cfg, err := os.ReadFile(r.path)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, r.path, strings.Replace(string(cfg), "{ upstream: canary, weight: 50 }", "{ upstream: canary, weight: 40 }", 1))
	if err := r.s.Reload(); err != nil {
		t.Fatal(err)
	}
	if r.s.currentMonitor() != monitor {
		t.Error("a weight change replaced the drift monitor; its state would be lost")
	}
	if got := canaryState(t, r); got == "rolled_back" {
		t.Errorf("after a config change the guard is still rolled_back")
	}
	before := r.s.proxy.Stats("predict")[1].Requests
	burst(t, r.s.ProxyAddr(), 200)
	if after := r.s.proxy.Stats("predict")[1].Requests; after == before {
		t.Error("the new config did not restore the canary's weight")
	}
	rollUntilRolledBack(t, r, clock)
	_, metrics, _ := get(t, "http://"+r.s.AdminAddr()+"/metrics")
	if want := `driftcar_canary_rollback_total{model="credit-risk",reason="error_rate",route="predict"} 2`; !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %s: the rollback total must survive the config change", want)
	}
}

// streamAfter answers a streamed chat completion whose first chunk comes
// after first and the rest after rest, so that an arm's time to first
// token and its whole duration can differ.
func streamAfter(first, rest time.Duration) fasthttp.RequestHandler {
	events := splitEvents(sse([]string{"a", "b", "c"}, "stop", 3))
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			time.Sleep(first)
			_, _ = w.WriteString(events[0])
			if w.Flush() != nil {
				return
			}
			time.Sleep(rest)
			for _, ev := range events[1:] {
				_, _ = w.WriteString(ev)
			}
		})
	}
}

// TestCanaryGuardRollsBackASlowFirstToken: on an openai route a canary
// whose answers take as long as live's but start 30 ms later is rolled
// back for its time to first token, not for latency.
func TestCanaryGuardRollsBackASlowFirstToken(t *testing.T) {
	live := testupstream.Start(t, streamAfter(0, 30*time.Millisecond))
	canary := testupstream.Start(t, streamAfter(30*time.Millisecond, 0))
	clock := &fakeClock{}
	clock.Advance(time.Hour)
	path := filepath.Join(t.TempDir(), "driftcar.yaml")
	testutil.WriteFile(t, path, fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
model: llm
upstreams:
  live:   { address: %s }
  canary: { address: %s }
routes:
  - name: chat
    protocol: openai
    split:
      - { upstream: live,   weight: 50 }
      - { upstream: canary, weight: 50 }
canary_guard: { min_requests: 50, window: 1m }
`, live, canary))
	s, err := New(Options{ConfigPath: path, Now: clock.Now, ManualTicks: true})
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
	state := func() (string, string) {
		for _, g := range s.currentMonitor().View().Canary {
			if g.Route == "chat" && len(g.Checks) > 0 {
				return g.State, g.Checks[0].RollbackReason
			}
		}
		return "", ""
	}
	for tick := 0; tick < 12; tick++ {
		if st, _ := state(); st == "rolled_back" {
			break
		}
		streamBurst(t, s.ProxyAddr(), 200)
		clock.Advance(10 * time.Second)
		s.TickDrift(clock.Now())
	}
	if st, reason := state(); st != "rolled_back" || reason != "time_to_first_token" {
		t.Fatalf("canary: got state %q, reason %q; want rolled_back for time_to_first_token\n%+v", st, reason, s.currentMonitor().View().Canary)
	}
	_, metrics, _ := get(t, "http://"+s.AdminAddr()+"/metrics")
	if want := `driftcar_canary_rollback_total{model="llm",reason="time_to_first_token",route="chat"} 1`; !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %s", want)
	}
}

// streamBurst sends n streamed chat requests from 16 connections and
// reads every answer whole.
func streamBurst(t *testing.T, addr string, n int) {
	t.Helper()
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: 16}
	defer hc.CloseIdleConnections()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for i := w; i < n; i += 16 {
				req.SetRequestURI("http://" + addr + "/v1/chat/completions")
				req.Header.SetMethod("POST")
				req.SetBodyString(`{"model":"m","stream":true,"messages":[{"role":"user","content":"?"}]}`)
				if err := hc.Do(req, resp); err != nil {
					t.Errorf("request %d: %v", i, err)
					return
				}
				if resp.StatusCode() != 200 || !strings.Contains(string(resp.Body()), "[DONE]") {
					t.Errorf("request %d: status %d, body %q", i, resp.StatusCode(), resp.Body())
					return
				}
			}
		})
	}
	wg.Wait()
}
