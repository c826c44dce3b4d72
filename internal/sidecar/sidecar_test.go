package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"testing"
	"time"

	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"

	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testupstream.GoleakOptions...)
}

func configYAML(live, canary string, liveWeight, canaryWeight int) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
model: credit-risk
drain_timeout: 5s
upstreams:
  live:   { address: %s }
  canary: { address: %s, timeout: 1s, max_conns: 64 }
routes:
  - name: predict
    match: { path_prefix: /v1/models/credit }
    split:
      - { upstream: live,   weight: %d }
      - { upstream: canary, weight: %d }
    sticky: { header: x-user-id }
`, live, canary, liveWeight, canaryWeight)
}

type running struct {
	s      *Sidecar
	path   string
	reload chan struct{}
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, yaml string) *running {
	t.Helper()
	path := filepath.Join(t.TempDir(), "driftcar.yaml")
	testutil.WriteFile(t, path, yaml)
	s, err := New(Options{ConfigPath: path, ProbeInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, path: path, reload: make(chan struct{}), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx, r.reload) }()
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

func get(t *testing.T, url string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestReloadGoodAndBad(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[1]}`))
	canary := testupstream.Start(t, testupstream.Answer("canary", `{"predictions":[2]}`))
	r := start(t, configYAML(live, canary, 100, 0))
	url := "http://" + r.s.ProxyAddr() + "/v1/models/credit:predict"
	admin := "http://" + r.s.AdminAddr()

	if _, _, h := get(t, url, "X-User-Id", "u1"); h.Get("X-Upstream") != "live" {
		t.Fatalf("before reload: served by %q; want live", h.Get("X-Upstream"))
	}

	testutil.WriteFile(t, r.path, configYAML(live, canary, 0, 100))
	r.reload <- struct{}{}
	testutil.Eventually(t, 5*time.Second, "good reload takes effect", func() bool {
		_, _, h := get(t, url, "X-User-Id", "u1")
		return h.Get("X-Upstream") == "canary"
	})
	if got := promtestutil.ToFloat64(r.s.reloadOK); got != 1 {
		t.Errorf("config_last_reload_successful after good reload: got %v; want 1", got)
	}

	bad := strings.Replace(configYAML(live, canary, 0, 100), "weight: 100", "weight: -1", 1)
	testutil.WriteFile(t, r.path, bad)
	r.reload <- struct{}{}
	testutil.Eventually(t, 5*time.Second, "bad reload is recorded", func() bool {
		return promtestutil.ToFloat64(r.s.reloadOK) == 0
	})
	if _, _, h := get(t, url, "X-User-Id", "u1"); h.Get("X-Upstream") != "canary" {
		t.Errorf("after bad reload: served by %q; want canary (last good config)", h.Get("X-Upstream"))
	}
	_, body, _ := get(t, admin+"/api/config")
	if !strings.Contains(body, `"weight": 100`) {
		t.Errorf("/api/config does not show the last good config:\n%s", body)
	}
	err := r.s.Reload()
	if err == nil || !strings.Contains(err.Error(), "routes[0].split[1].weight: must be >= 0 (line 13)") {
		t.Errorf("reload error: got %v; want it to name routes[0].split[1].weight and line 13", err)
	}

	restart := strings.Replace(configYAML(live, canary, 1, 1), "model: credit-risk", "model: other", 1)
	testutil.WriteFile(t, r.path, restart)
	if err := r.s.Reload(); err == nil || !strings.Contains(err.Error(), "model: cannot change without a restart") {
		t.Errorf("reload changing model: got %v; want a restart error", err)
	}
}

func TestReadyz(t *testing.T) {
	liveAddr := testutil.FreePort(t)
	canary := testupstream.Start(t, testupstream.Answer("canary", "{}"))
	r := start(t, configYAML(liveAddr, canary, 90, 10))
	readyz := "http://" + r.s.AdminAddr() + "/readyz"

	testutil.Eventually(t, 5*time.Second, "readyz names the unreachable live upstream", func() bool {
		code, body, _ := get(t, readyz)
		if code != http.StatusServiceUnavailable {
			t.Fatalf("readyz with live down: got %d %q; want 503", code, body)
		}
		return strings.Contains(body, `live upstream "live"`)
	})
	if code, _, _ := get(t, "http://"+r.s.AdminAddr()+"/healthz"); code != 200 {
		t.Errorf("healthz: got %d; want 200", code)
	}

	srv := &fasthttp.Server{Handler: testupstream.Answer("live", "{}")}
	ln := testutil.Listen(t, liveAddr)
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown() }()
	testutil.Eventually(t, 5*time.Second, "readyz turns 200 once live accepts", func() bool {
		code, _, _ := get(t, readyz)
		return code == 200
	})
}

func TestDrainInFlight(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	live := testupstream.Start(t, func(ctx *fasthttp.RequestCtx) {
		entered <- struct{}{}
		<-release
		ctx.SetBodyString("finished")
	})
	path := filepath.Join(t.TempDir(), "driftcar.yaml")
	testutil.WriteFile(t, path, configYAML(live, live, 1, 0))
	s, err := New(Options{ConfigPath: path})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, nil) }()

	type result struct {
		code int
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Post("http://"+s.ProxyAddr()+"/v1/models/credit:predict", "application/json", strings.NewReader("{}"))
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- result{code: resp.StatusCode, body: string(b)}
	}()
	<-entered
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) while a request was in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	res := <-got
	if res.err != nil || res.code != 200 || res.body != "finished" {
		t.Errorf("in-flight request: got %d %q %v; want 200 finished", res.code, res.body, res.err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestMetricsPassPromtool(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", "{}"))
	r := start(t, configYAML(live, testutil.FreePort(t), 50, 50))
	for i := range 20 {
		get(t, "http://"+r.s.ProxyAddr()+"/v1/models/credit:predict", "X-User-Id", fmt.Sprint(i))
	}
	get(t, "http://"+r.s.ProxyAddr()+"/nowhere")
	_, body, _ := get(t, "http://"+r.s.AdminAddr()+"/metrics")
	for _, want := range []string{
		`driftcar_requests_total{arm="live",code="2xx",model="credit-risk",route="predict"}`,
		`driftcar_request_duration_seconds_bucket{arm="canary",model="credit-risk",route="predict",le="0.0001"}`,
		`driftcar_upstream_errors_total{arm="canary",model="credit-risk",reason="refused",route="predict"}`,
		`driftcar_config_last_reload_successful{model="credit-risk"} 1`,
		`driftcar_config_last_reload_success_timestamp_seconds{model="credit-risk"}`,
		`driftcar_build_info{goversion=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	checkPromtool(t, body)
}

// checkPromtool runs `promtool check metrics` on an exposition.
func checkPromtool(t *testing.T, exposition string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed; .ci/run installs the prometheus package")
		}
		t.Skip("promtool not installed (apt-get install prometheus)")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// waitMetrics polls admin's /metrics until it holds every line of want,
// and returns the last scrape.
func waitMetrics(t *testing.T, admin, what string, want ...string) string {
	t.Helper()
	var body string
	testutil.Eventually(t, 10*time.Second, what, func() bool {
		_, body, _ = get(t, admin+"/metrics")
		for _, w := range want {
			if !strings.Contains(body, w) {
				return false
			}
		}
		return true
	})
	return body
}
