package ui_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/driftcar/driftcar/internal/demo"
	"github.com/driftcar/driftcar/internal/testutil"
	"github.com/driftcar/driftcar/internal/ui"
)

// chromiumPath is the Debian package's browser; DRIFTCAR_CHROMIUM
// overrides it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("DRIFTCAR_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium not found at %s (CI must install the Debian package chromium): %v", p, err)
		}
		t.Skipf("chromium not found at %s; apt-get install chromium to run this test", p)
	}
	return p
}

// browser starts a headless Chromium for the test and returns a tab
// context and the errors the page logged (JavaScript exceptions, console
// errors, CSP violations).
func browser(t *testing.T, ctx context.Context) (context.Context, func() []string) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	var mu sync.Mutex
	var errs []string
	err := chromedp.Listen(tab, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				msg = "console.error"
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				msg = fmt.Sprintf("%s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		}
		if msg != "" {
			mu.Lock()
			errs = append(errs, msg)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("cannot start chromium: %v", err)
	}
	return tab, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// pageServer serves Handler and passes /api/ and /metrics to admin, as
// the admin server will once the page is mounted on it.
func pageServer(t *testing.T, admin string) *httptest.Server {
	t.Helper()
	target, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = transport
	rp.ErrorLog = nil
	mux := http.NewServeMux()
	mux.Handle("/api/", rp)
	mux.Handle("/metrics", rp)
	mux.Handle("/", ui.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		transport.CloseIdleConnections()
	})
	return srv
}

// syncBuffer collects the demo's output for the test to read while the
// demo writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var adminLine = regexp.MustCompile(`admin page\s+(http://[^/\s]+)`)

// waitAdmin waits until the demo prints its admin address (the one asked
// for, unless it was taken meanwhile) and the admin server is ready.
func waitAdmin(t *testing.T, ctx context.Context, out *syncBuffer, done <-chan error) string {
	t.Helper()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var admin string
	if !testutil.Poll(90*time.Second, 200*time.Millisecond, func() bool {
		select {
		case err := <-done:
			t.Fatalf("demo ended before it was ready: %v\n%s", err, out)
		default:
		}
		m := adminLine.FindStringSubmatch(out.String())
		if m == nil {
			return false
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m[1]+"/readyz", nil)
		res, err := client.Do(req)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		admin = m[1]
		return res.StatusCode == http.StatusOK
	}) {
		t.Fatalf("the demo's admin server was not ready in 90s:\n%s", out)
	}
	return admin
}

func eval[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// TestPageAgainstDemo loads the page against the real demo in headless
// Chromium, waits until the injected drift shows, checks what renders and
// saves a full-page screenshot (kept as testdata/screenshot.png).
func TestPageAgainstDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo and a browser for about 30 seconds")
	}
	chromiumPath(t)
	ctx, cancel := context.WithCancel(t.Context())
	out := &syncBuffer{}
	admin := freeAddr(t)
	done := make(chan error, 1)
	go func() {
		_, err := demo.Run(ctx, demo.Options{
			Rate: 150, DriftAt: 5 * time.Second, Seed: 3,
			Listen: "127.0.0.1:0", Admin: admin, Out: out, CalibrationTicks: 20000,
		})
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	})
	srv := pageServer(t, waitAdmin(t, ctx, out, done))

	tab, pageErrors := browser(t, ctx)
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1440, 900), chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatalf("cannot load the page: %v", err)
	}

	// Wait for the injected drift to be detected on both drifted features.
	detected := `document.querySelector('[data-feature="age"][data-state="drift"]') !== null &&
		document.querySelector('[data-feature="country"][data-state="drift"]') !== null`
	if !testutil.Poll(45*time.Second, 500*time.Millisecond, func() bool { return eval[bool](t, tab, detected) }) {
		states := eval[string](t, tab, `[...document.querySelectorAll('[data-feature]')].map(e => e.dataset.feature + '=' + e.dataset.state).join(' ')`)
		t.Fatalf("drift on age and country not shown in 45s; states: %s", states)
	}
	// A few more polls, so the charts show the change over time.
	time.Sleep(12 * time.Second)

	for _, f := range []string{"age", "income", "debt_ratio", "country", "channel"} {
		name := eval[string](t, tab, fmt.Sprintf(`(document.querySelector('[data-feature=%q] .fname') || {}).textContent || ''`, f))
		if name != f {
			t.Errorf("feature %s: card shows %q", f, name)
		}
		state := eval[string](t, tab, fmt.Sprintf(`document.querySelector('[data-feature=%q]').dataset.state`, f))
		badge := eval[string](t, tab, fmt.Sprintf(`document.querySelector('[data-feature=%q] .badge').textContent`, f))
		wantDrift := f == "age" || f == "country"
		if wantDrift && (state != "drift" || badge != "drift") {
			t.Errorf("feature %s: state %q, badge %q; want drift", f, state, badge)
		}
		if !wantDrift && state == "drift" {
			t.Errorf("feature %s: shown as drifting; want no drift", f)
		}
		bars := eval[int](t, tab, fmt.Sprintf(`document.querySelectorAll('[data-feature=%q] svg.hist rect').length`, f))
		if bars < 4 {
			t.Errorf("feature %s: %d histogram bars; want reference and live bars per cell", f, bars)
		}
		refBars := eval[int](t, tab, fmt.Sprintf(`document.querySelectorAll('[data-feature=%q] svg.hist rect.bar-ref').length`, f))
		liveBars := eval[int](t, tab, fmt.Sprintf(`document.querySelectorAll('[data-feature=%q] svg.hist rect.bar-live').length`, f))
		if refBars == 0 || refBars != liveBars {
			t.Errorf("feature %s: %d reference and %d live bars; want the same number, side by side", f, refBars, liveBars)
		}
		lines := eval[int](t, tab, fmt.Sprintf(`document.querySelectorAll('[data-feature=%q] svg.stat path').length`, f))
		if lines < 2 {
			t.Errorf("feature %s: statistic chart has %d lines; want the statistic and its threshold", f, lines)
		}
	}
	if n := eval[int](t, tab, `document.querySelectorAll('svg.hist rect').length`); n < 60 {
		t.Errorf("%d histogram bars on the page; want at least 60", n)
	}
	unseen := eval[bool](t, tab, `[...document.querySelectorAll('[data-feature="country"] svg.hist text')].some(e => e.textContent === 'unseen')`)
	if !unseen {
		t.Error("country histogram does not show the unseen category")
	}
	for _, c := range []struct{ what, expr, want string }{
		{"dataset state", `document.querySelector('.route-head .badge').dataset.state`, "drift"},
		{"live arm", `document.querySelector('[data-arm="live"] .arm').textContent`, "live"},
		{"canary arm", `document.querySelector('[data-arm="canary"] .role').textContent`, "canary"},
		{"shadow", `document.querySelector('[data-arm="shadow"] .role').textContent`, "shadow"},
		{"guard", `document.querySelector('.route .two:last-child .card:last-child .legend .badge') ? 'on' : 'off'`, "on"},
	} {
		if got := eval[string](t, tab, c.expr); got != c.want {
			t.Errorf("%s: got %q; want %q", c.what, got, c.want)
		}
	}
	// The ground-truth card: labels joined for every arm, and the shadow,
	// which the demo designs less accurate than live, judged worse.
	for _, arm := range []string{"live", "canary", "shadow"} {
		if got := eval[string](t, tab, fmt.Sprintf(`((document.querySelector('[data-truth-arm=%q] [data-cell="labels"]') || {}).textContent || '')`, arm)); got == "" || got == "0" {
			t.Errorf("ground truth: %s labels shown as %q; want some", arm, got)
		}
	}
	if got := eval[string](t, tab, `((document.querySelector('[data-truth-arm="shadow"] [data-cell="verdict"] .badge') || {dataset: {}}).dataset.state || '')`); got != "worse" {
		t.Errorf("ground truth: shadow verdict %q; want worse", got)
	}
	if rate := eval[string](t, tab, `document.querySelector('[data-arm="live"] .value').firstChild.textContent`); rate == "–" || rate == "" {
		t.Errorf("live request rate not shown: %q", rate)
	}
	if rows := eval[int](t, tab, `document.querySelectorAll('.route tbody tr').length`); rows < 3 {
		t.Errorf("%d table rows (mismatches and drift history); want some of each", rows)
	}
	if v := eval[string](t, tab, `document.getElementById('config').dataset.version || ''`); len(v) < 6 {
		t.Errorf("config version not shown: %q", v)
	}
	if s := eval[string](t, tab, `document.getElementById('status').className`); s != "status ok" {
		t.Errorf("status: got %q; want %q", s, "status ok")
	}
	if errs := pageErrors(); len(errs) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(errs, "\n"))
	}

	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(t.TempDir(), "screenshot.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "screenshot.png"), png, 0o644); err != nil {
		t.Errorf("cannot keep the screenshot: %v", err)
	}
	t.Logf("screenshot: %s (%d bytes), kept as testdata/screenshot.png", shot, len(png))

	// DRIFTCAR_UI_SHOTS=DIR also keeps the dark theme, for a designer's eye.
	if dir := os.Getenv("DRIFTCAR_UI_SHOTS"); dir != "" {
		dark := emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}
		if _, err := chromedp.Call(tab, emulation.SetEmulatedMedia, dark); err != nil {
			t.Fatalf("dark theme: %v", err)
		}
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "dark.png"), png, 0o644); err != nil {
			t.Error(err)
		}
	}
}

// hostile is inserted wherever the API returns free text; the page must
// show it as text and never parse it.
const hostile = `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>`

// fakeAdmin serves a small admin API with hostile strings, behind a
// bearer token, as an admin server with admin_token does.
func fakeAdmin(t *testing.T, token string) string {
	t.Helper()
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	api := map[string]string{
		"/api/routes": `[{"route":` + q("r"+hostile) + `,"arms":[{"arm":"stable","weight":80,"requests":1000,"errors":3,"p50_seconds":0.002,"p99_seconds":0.05,` +
			`"llm":{"streams":900,"ttft_p50_seconds":0.04,"ttft_p99_seconds":0.12,"inter_token_p99_seconds":0.015,"answers":1000,` +
			`"tokens":{"prompt":52000,"completion_usage":4000,"completion_chunks":0},"finish":{"stop":940,"length":60}}},` +
			`{"arm":` + q("c"+hostile) + `,"weight":20,"requests":250,"errors":0,"p50_seconds":0.003,"p99_seconds":0.07,` +
			`"llm":{"streams":250,"ttft_p50_seconds":0.05,"ttft_p99_seconds":0.2,"inter_token_p99_seconds":0.02,"answers":250,` +
			`"tokens":{"prompt":0,"completion_usage":0,"completion_chunks":700},"finish":{` + q(hostile) + `:250}}}],` +
			`"shadow":{"upstream":"shadow","requests":{"ok":1250},"comparisons":{"match":1200,"mismatch":50,"undecodable":0},"p50_seconds":0.004,"p99_seconds":0.09}}]`,
		"/api/shadow/mismatches": `[{"time":"2026-11-28T10:00:00Z","route":` + q("r"+hostile) + `,"request_id":` + q(hostile) + `,"method":"POST","path":"/p",` +
			`"live_status":200,"shadow_status":500,"reason":` + q(hostile) + `,"live":` + q(hostile) + `,"shadow":"x","request_body":` + q(hostile) +
			`,"live_body":` + q(hostile) + `,"shadow_body":"{}","truncated":true}]`,
		"/api/features": `[{"route":` + q("r"+hostile) + `,"learning":false,"rows":10,"features":[{"name":` + q("f"+hostile) + `,"type":"categorical",` +
			`"cells":[` + q(hostile) + `,"b","__other__","__unseen__","__missing__","__invalid__"],"reference":[0.5,0.5,0,0,0,0],` +
			`"windows":[{"slices":5,"n":10,"counts":[3,7,0,0,0,0],"distinct":2}]}]}]`,
		"/api/drift": `{"routes":[{"route":` + q("r"+hostile) + `,"ready":true,"dataset":{"state":"warning","drifted":0,"features":1,"share":0,"correction":` + q(hostile) + `},` +
			`"features":[{"name":` + q("f"+hostile) + `,"state":"warning","since":"2026-11-28T10:00:00Z","windows":[{"window":` + q(hostile) + `,"n":10,"tested":true,` +
			`"tests":{"g":{"statistic":5,"threshold":9,"pvalue":0.01,"breach":false}}}]}]}],` +
			`"history":[{"at":"2026-11-28T10:00:00Z","route":` + q("r"+hostile) + `,"feature":` + q("f"+hostile) + `,"from":"ok","to":` + q(hostile) + `,"window":"1m","test":` + q(hostile) + `,"statistic":5,"threshold":9}],` +
			`"canary":[{"route":` + q("r"+hostile) + `,"state":"rolled_back","checks":[{"arm":` + q("c"+hostile) + `,"requests":250,"live_requests":1000,"error_rate":0.1,"live_error_rate":0.003,` +
			`"p99_ratio":1.4,"ttft_p99_ratio":1.8,"breaches":[` + q(hostile) + `],"streak":3,"rolled_back":true,"rollback_reason":"error_rate"}]}]}`,
		"/api/ground-truth": `{"label":"binary","windows":["5m","1h"],"routes":[{"route":` + q("r"+hostile) + `,` +
			`"reference":{"from":"profile","metric":"accuracy","value":0.9,"rows":20000},"arms":[` +
			`{"arm":"stable","role":"live","labels":4000,"state":"drift","windows":[{"window":"5m","labels":600,"accuracy":0.85,"auc":0.91},{"window":"1h","labels":4000,"accuracy":0.875}]},` +
			`{"arm":` + q("s"+hostile) + `,"role":"shadow","labels":3900,"state":"ok","sla_breached":[` + q(hostile) + `],"windows":[{"window":"5m","labels":580,"accuracy":0.95},{"window":"1h","labels":0}],` +
			`"verdict":{"verdict":"better_by_margin","paired":true,"metric":"accuracy","difference":0.075,"pvalue":1e-12,"n":3900,"window":"1h"}}]}]}`,
		"/api/config": `{"model":` + q(hostile) + `,"sketch":{"slices":60,"slice_duration":"1m"}}`,
		"/metrics":    "# TYPE driftcar_config_info gauge\ndriftcar_config_info{model=\"m\",source=\"xds\",version=\"v\\\"<b>1</b>\"} 1\n",
	}
	mux := http.NewServeMux()
	for path, body := range api {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(path, "/api/") && r.Header.Get("Authorization") != "Bearer "+token {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			_, _ = io.WriteString(w, body)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestPageEscapesAndAsksForToken checks, in headless Chromium, that the
// page asks for a token on 401, sends the one in the URL fragment, and
// shows hostile API strings as text.
func TestPageEscapesAndAsksForToken(t *testing.T) {
	chromiumPath(t)
	const token = "s3cret/+="
	srv := pageServer(t, fakeAdmin(t, token))
	tab, _ := browser(t, t.Context())
	if err := chromedp.Do(tab, chromedp.EmulateViewport(390, 844), chromedp.Navigate(srv.URL+"/ui")); err != nil {
		t.Fatalf("cannot load the page: %v", err)
	}
	banner, err := chromedp.Run(tab, chromedp.Poll[string](`!document.getElementById('banner').hidden && document.getElementById('banner').textContent`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("no 401 banner: %v", err)
	}
	if !strings.Contains(banner, "needs a token") || !strings.Contains(banner, "#token=") {
		t.Errorf("401 banner: got %q", banner)
	}

	if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/ui#token="+url.QueryEscape(token))); err != nil {
		t.Fatalf("cannot load the page: %v", err)
	}
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](`document.querySelectorAll('.feature svg.hist rect').length > 0 && document.querySelectorAll('.route tbody tr').length >= 3`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("the page did not render with the token: %v", err)
	}
	time.Sleep(2500 * time.Millisecond) // a second poll, with rates
	if b := eval[bool](t, tab, `document.getElementById('banner').hidden`); !b {
		t.Error("the 401 banner is still shown with the right token")
	}
	if p := eval[string](t, tab, `String(window.pwned)`); p != "undefined" {
		t.Errorf("hostile markup ran: window.pwned = %s", p)
	}
	if n := eval[int](t, tab, `document.querySelectorAll('img, script:not([src]), [onerror]').length`); n != 0 {
		t.Errorf("%d elements parsed from API strings", n)
	}
	text := eval[string](t, tab, `document.body.innerText`)
	if c := strings.Count(text, `<img src=x onerror="window.pwned=1">`); c < 8 {
		t.Errorf("hostile strings shown as text %d times; want them everywhere they occur", c)
	}
	for _, want := range []string{"rolled back", "10.00% vs 0.30%", "1.40×", "v\"<b>1</b>"} {
		if !strings.Contains(text, want) {
			t.Errorf("page text does not contain %q", want)
		}
	}
	// An openai route's arms show their streams and tokens, and the guard
	// its TTFT ratio.
	for _, tc := range []struct{ cell, want string }{
		{`[data-llm-arm="stable"] [data-cell="streams"]`, "900"},
		{`[data-llm-arm="stable"] [data-cell="ttft-p50"]`, "40 ms"},
		{`[data-llm-arm="stable"] [data-cell="ttft-p99"]`, "120 ms"},
		{`[data-llm-arm="stable"] [data-cell="inter-token-p99"]`, "15 ms"},
		{`[data-llm-arm="stable"] [data-cell="prompt"]`, "52,000"},
		{`[data-llm-arm="stable"] [data-cell="completion"]`, "4,000 usage"},
		{`[data-llm-arm="stable"] [data-cell="finish"]`, "stop 940 · length 60"},
		{`.llm tbody tr:last-child [data-cell="completion"]`, "700 chunks"},
		{`.llm tbody tr:last-child [data-cell="finish"]`, hostile + " 250"},
		{`[data-cell="ttft-p99-ratio"]`, "1.80×"},
		{`[data-truth-arm="stable"] [data-cell="labels"]`, "4,000"},
		{`[data-truth-arm="stable"] [data-cell="window-5m"]`, "85.0% · AUC 0.910"},
		{`[data-truth-arm="stable"] [data-cell="state"]`, "drift"},
		{`.truth tbody tr:last-child [data-cell="window-1h"]`, "–"},
		{`.truth tbody tr:last-child [data-cell="state"]`, "ok SLA: " + hostile},
		{`.truth tbody tr:last-child [data-cell="verdict"]`, "better by margin +7.5% · p 1.0e-12 · paired, n 3,900"},
	} {
		if got := eval[string](t, tab, `((document.querySelector('`+tc.cell+`') || {}).textContent || '')`); got != tc.want {
			t.Errorf("%s: got %q; want %q", tc.cell, got, tc.want)
		}
	}
	// On a phone, only tables may scroll sideways (inside their card).
	wide := eval[string](t, tab, `[...document.querySelectorAll('body *')].filter(e => !e.closest('.tablewrap') && e.getBoundingClientRect().right > innerWidth + 1)
		.slice(0, 5).map(e => e.tagName + '.' + e.getAttribute('class')).join(', ')`)
	if wide != "" || eval[int](t, tab, `document.documentElement.scrollWidth`) > 390 {
		t.Errorf("the page is wider than a 390 px screen: %s", wide)
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(t.TempDir(), "narrow.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("DRIFTCAR_UI_SHOTS"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "narrow.png"), png, 0o644)
	}
	t.Logf("screenshot: %s", shot)
}
