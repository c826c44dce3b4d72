package shadow

import (
	"bytes"
	"fmt"
	"math"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
	"github.com/driftcar/driftcar/proxy"
)

const v1Request = `{"instances":[{"age":41,"income":52000.5,"country":"DE"}]}`

func shadowSpec(addr string) Spec {
	return Spec{
		Upstream: Upstream{Name: "shadow", Address: addr, Timeout: 2 * time.Second, MaxConns: 16},
		Fraction: 1,
		Compare:  Compare{AbsTolerance: 1e-6, RelTolerance: 1e-4},
	}
}

func TestLiveByteIdenticalWithAndWithoutShadow(t *testing.T) {
	live := testupstream.Start(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("X-Model", "live")
		ctx.SetContentType("application/json")
		ctx.SetBody(append([]byte(`{"predictions":[`), append(ctx.PostBody(), "]}"...)...))
	})
	shadow := testupstream.Start(t, testupstream.Answer("shadow", `{"predictions":[0]}`))
	with := newEnv(t, live, shadowSpec(shadow), true)
	without := newEnv(t, live, Spec{Upstream: Upstream{Address: shadow}, Fraction: 0}, true)
	for i := range 20 {
		body := strconv.Itoa(i * 7)
		a := with.post(t, body, "X-Request-Id", "r"+body)
		b := without.post(t, body, "X-Request-Id", "r"+body)
		if wa, wb := wire(t, a), wire(t, b); !bytes.Equal(wa, wb) {
			t.Fatalf("response %d differs with shadowing:\n%q\n%q", i, wa, wb)
		}
	}
	with.waitCounter(t, 20, "driftcar_shadow_requests_total", "result", "ok")
}

func TestSlowShadowDoesNotDelayLive(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.5]}`))
	release := make(chan struct{})
	shadow := testupstream.Start(t, func(ctx *fasthttp.RequestCtx) {
		select {
		case <-time.After(2 * time.Second):
		case <-release:
		}
		ctx.SetBodyString(`{"predictions":[0.5]}`)
	})
	defer close(release)
	spec := shadowSpec(shadow)
	spec.Upstream.Timeout = 5 * time.Second
	e := newEnv(t, live, spec, true)
	for i := range 50 {
		start := time.Now()
		resp := e.post(t, v1Request, "X-Request-Id", "id-"+strconv.Itoa(i))
		if took := time.Since(start); took > time.Second || resp.StatusCode() != 200 {
			t.Fatalf("request %d took %s (status %d) with a 2s shadow; want well under 2s", i, took, resp.StatusCode())
		}
	}
}

func TestBrokenShadows(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.5]}`))
	cases := []struct {
		name    string
		addr    string
		result  string // shadow_requests_total result
		outcome string // comparisons_total outcome, if any
	}{
		{"dead", testutil.FreePort(t), "error", ""},
		{"reset", testupstream.Resetter(t), "error", ""},
		{"malformed JSON", testupstream.Start(t, testupstream.Answer("shadow", `{"predictions":[0.5`)), "ok", "undecodable"},
		{"wrong shape", testupstream.Start(t, testupstream.Answer("shadow", `{"result":[0.5]}`)), "ok", "undecodable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, live, shadowSpec(tc.addr), true)
			for i := range 10 {
				resp := e.post(t, v1Request, "X-Request-Id", "id-"+strconv.Itoa(i))
				if resp.StatusCode() != 200 || string(resp.Body()) != `{"predictions":[0.5]}` {
					t.Fatalf("live response changed: %d %s", resp.StatusCode(), resp.Body())
				}
			}
			e.waitCounter(t, 10, "driftcar_shadow_requests_total", "result", tc.result)
			if tc.outcome != "" {
				e.waitCounter(t, 10, "driftcar_shadow_comparisons_total", "outcome", tc.outcome)
				// The sample is stored just after the counters move.
				testutil.Eventually(t, 10*time.Second, "10 mismatch samples", func() bool { return len(e.ring.Snapshot()) == 10 })
			}
			if got := e.counter(t, "driftcar_requests_total", "arm", "live", "code", "2xx"); got != 10 {
				t.Errorf("live 2xx: got %v; want 10", got)
			}
		})
	}
}

func TestQueueFullDropsAndHeapStaysBounded(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.5]}`))
	hole, closeHole := testupstream.Raw(t, func(*net.TCPConn) {}) // accepts, never answers
	defer closeHole()
	spec := shadowSpec(hole)
	spec.Queue = 64
	spec.Workers = 4
	spec.Upstream.MaxConns = 4
	spec.Upstream.Timeout = time.Minute
	e := newEnv(t, live, spec, false)
	h := testupstream.NewHarness(e.srv.Handler(), "/v1/models/m:predict", v1Request)

	const n = 100_000
	var before, after runtime.MemStats
	for i := range n {
		h.Template.Header.Set("X-Request-Id", strconv.Itoa(i))
		h.ServeOK(t)
		if i == 1000 {
			runtime.GC()
			runtime.ReadMemStats(&before)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	dropped := e.counter(t, "driftcar_shadow_requests_total", "result", "dropped_queue_full")
	if want := float64(n - spec.Queue - spec.Workers); dropped != want {
		t.Errorf("dropped_queue_full: got %v; want %v (all but queue+workers)", dropped, want)
	}
	if q := e.counter(t, "driftcar_shadow_queue_length"); q != float64(spec.Queue) {
		t.Errorf("queue_length: got %v; want %d", q, spec.Queue)
	}
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap after 1k: %d KiB, after %d: %d KiB", before.HeapAlloc>>10, n, after.HeapAlloc>>10)
	const ceiling = 4 << 20
	if growth > ceiling {
		t.Errorf("heap grew %d KiB over %d requests to a dead shadow; ceiling %d KiB", growth>>10, n, ceiling>>10)
	}
}

func TestFractionIsDeterministicByRequestID(t *testing.T) {
	spec := shadowSpec("127.0.0.1:1")
	spec.Fraction = 0.25
	spec.Workers = 1
	reg := newEnv(t, "127.0.0.1:1", spec, false)
	other, err := New(Spec{Route: "predict", Upstream: spec.Upstream, Fraction: 0.25, Workers: 1}, Options{Metrics: newMetrics()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { other.Stop(); other.Wait() }()
	const n = 20000
	picked := 0
	for i := range n {
		id := []byte("req-" + strconv.Itoa(i))
		a, b := reg.mirror.sampled(id), other.sampled(id)
		if a != b {
			t.Fatalf("id %s: mirrors disagree", id)
		}
		if a {
			picked++
		}
	}
	share := float64(picked) / n
	sigma := math.Sqrt(0.25 * 0.75 / n)
	if math.Abs(share-0.25) > 4*sigma {
		t.Errorf("mirrored share: got %.4f; want 0.25 ± %.4f", share, 4*sigma)
	}
}

func TestStrippedHeadersAndShadowMarker(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[1]}`))
	seen := make(chan map[string]string, 1)
	shadow := testupstream.Start(t, func(ctx *fasthttp.RequestCtx) {
		h := map[string]string{}
		for k, v := range ctx.Request.Header.All() {
			h[string(k)] = string(v)
		}
		h["Host"] = string(ctx.Request.Header.Host())
		seen <- h
		ctx.SetBodyString(`{"predictions":[2]}`)
	})
	e := newEnv(t, live, shadowSpec(shadow), true)
	e.post(t, v1Request, "X-Request-Id", "abc", "Authorization", "Bearer secret", "Cookie", "session=1", "X-Keep", "k")
	h := <-seen
	for name, want := range map[string]string{
		"Authorization": "", "Cookie": "", "X-Keep": "k", "X-Request-Id": "abc",
		"X-Driftcar-Shadow": "1", "Host": e.addr,
	} {
		if got := h[name]; got != want {
			t.Errorf("shadow saw %s=%q; want %q", name, got, want)
		}
	}
	e.waitCounter(t, 1, "driftcar_shadow_comparisons_total", "outcome", "mismatch")
	for _, s := range e.ring.Snapshot() {
		if bytes.Contains([]byte(fmt.Sprintf("%+v", s)), []byte("secret")) {
			t.Errorf("mismatch sample holds a stripped header value: %+v", s)
		}
	}
}

// TestQueueLengthAcrossARetiredMirror: a config change replaces a route's
// mirror while copies are queued in the old one, whose shadow is slow; the
// new mirror's shadow is fast. The route's queue gauge counts both queues
// and returns to 0 once the retired mirror has drained, and every request
// still has exactly one result.
func TestQueueLengthAcrossARetiredMirror(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.5]}`))
	fast := testupstream.Start(t, testupstream.Answer("shadow", `{"predictions":[0.5]}`))
	hole, closeHole := testupstream.Raw(t, func(*net.TCPConn) {}) // accepts, never answers
	defer closeHole()
	reg := prometheus.NewRegistry()
	pm := proxy.NewMetrics(reg)
	e := &env{reg: reg}
	fleet := NewFleet(Options{Metrics: NewMetrics(reg, pm.UpstreamDuration())})
	defer fleet.Close()
	srv, err := proxy.New(liveConfig(t, live), proxy.Options{Metrics: pm})
	if err != nil {
		t.Fatal(err)
	}
	h := testupstream.NewHarness(srv.Handler(), "/v1/models/m:predict", v1Request)
	const perConfig = 40
	for round, addr := range []string{hole, fast} {
		spec := shadowSpec(addr)
		spec.Route, spec.Queue, spec.Workers = "predict", 16, 2
		spec.Upstream.MaxConns, spec.Upstream.Timeout = 2, 100*time.Millisecond
		mirrors, retired, err := fleet.Update([]Spec{spec})
		if err != nil {
			t.Fatal(err)
		}
		srv.Apply(liveConfig(t, live), proxy.Taps{"predict": {Mirror: mirrors["predict"]}})
		Retire(retired)
		for i := range perConfig {
			h.Template.Header.Set("X-Request-Id", fmt.Sprintf("r%d-%d", round, i))
			h.ServeOK(t)
		}
	}
	results := func() float64 {
		total := 0.0
		for _, r := range []string{"ok", "timeout", "error", "dropped_queue_full"} {
			total += e.counter(t, "driftcar_shadow_requests_total", "result", r)
		}
		return total
	}
	testutil.Eventually(t, 10*time.Second, "every request has a result", func() bool { return results() == 2*perConfig })
	testutil.Eventually(t, 10*time.Second, "the queue gauge back at 0", func() bool {
		return e.counter(t, "driftcar_shadow_queue_length") == 0 && e.counter(t, "driftcar_shadow_inflight") == 0
	})
}

// TestFleetKeepsTheMirrorOnAFractionChange: a canary step that changes
// only the shadow fraction keeps the mirror (queue, workers, connections)
// and applies the new fraction at once; any other change replaces it.
func TestFleetKeepsTheMirrorOnAFractionChange(t *testing.T) {
	fleet := NewFleet(Options{Metrics: NewMetrics(prometheus.NewRegistry(), proxy.NewMetrics(prometheus.NewRegistry()).UpstreamDuration())})
	defer fleet.Close()
	spec := shadowSpec("127.0.0.1:1")
	spec.Route, spec.Fraction = "predict", 1
	first, _, err := fleet.Update([]Spec{spec})
	if err != nil {
		t.Fatal(err)
	}
	m := first["predict"]
	if !m.sampled([]byte("id-1")) {
		t.Fatal("fraction 1 does not mirror")
	}
	spec.Fraction = 0
	next, retired, _ := fleet.Update([]Spec{spec})
	if next["predict"] != m || len(retired) != 0 {
		t.Fatalf("a fraction change replaced the mirror (retired %d)", len(retired))
	}
	if m.sampled([]byte("id-1")) || m.Spec().Fraction != 0 {
		t.Errorf("fraction 0 still mirrors, or Spec().Fraction = %v", m.Spec().Fraction)
	}
	spec.Upstream.Timeout = time.Second
	next, retired, _ = fleet.Update([]Spec{spec})
	if next["predict"] == m || len(retired) != 1 {
		t.Errorf("a timeout change kept the mirror")
	}
	Retire(retired)
	retired[0].Wait()
}

func TestFleetRejectsAnUnreadablePredictionSpec(t *testing.T) {
	fleet := NewFleet(Options{Metrics: newMetrics()})
	defer fleet.Close()
	spec := shadowSpec("127.0.0.1:1")
	spec.Route = "predict"
	spec.Prediction.Path = "result..scores"
	_, _, err := fleet.Update([]Spec{spec})
	if err == nil || !strings.Contains(err.Error(), "shadow predict: prediction: path:") {
		t.Fatalf("Update = %v; want an error naming the route and the path", err)
	}
}

// TestAnswersReportEveryMirroredRequest: each mirrored request's shadow
// side reaches the Answers once, by request id: its status, comparison
// outcome and predictions, or why it failed.
func TestAnswersReportEveryMirroredRequest(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.5]}`))
	cases := []struct {
		name, shadow, want string
	}{
		{"match", testupstream.Start(t, testupstream.Answer("shadow", `{"predictions":[0.5]}`)), "predict 200 match [0.5]"},
		{"mismatch", testupstream.Start(t, testupstream.Answer("shadow", `{"predictions":[0.9]}`)), "predict 200 mismatch [0.9]"},
		{"undecodable", testupstream.Start(t, testupstream.Answer("shadow", `{"result":1}`)), "predict 200 undecodable []"},
		{"dead", testutil.FreePort(t), "predict 0 error []"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, live, shadowSpec(tc.shadow), true)
			for i := range 5 {
				e.post(t, v1Request, "X-Request-Id", "id-"+strconv.Itoa(i))
			}
			testutil.Eventually(t, 10*time.Second, "5 answers", func() bool { return len(e.answers.snapshot()) == 5 })
			for id, got := range e.answers.snapshot() {
				if got != tc.want {
					t.Errorf("%s: got %q; want %q", id, got, tc.want)
				}
			}
		})
	}
}
