package proxy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/internal/testupstream"
)

func oneRoute(upstreamAddr string) string {
	return fmt.Sprintf(`
listen: 127.0.0.1:0
admin: 127.0.0.1:0
model: test
max_request_body: 9MiB
upstreams:
  live: { address: %s }
routes:
  - name: predict
    split:
      - { upstream: live, weight: 1 }
`, upstreamAddr)
}

func TestTransparency(t *testing.T) {
	rec := &recorder{}
	up := startUpstream(t, rec.handle)
	p := startProxy(t, mustParse(t, oneRoute(up)), Options{})
	hc := p.client()
	rng := rand.New(rand.NewPCG(1, 2))

	sizes := []int{0, 1, 1023, 64 << 10, 1 << 20, 8 << 20}
	for _, size := range sizes {
		for _, method := range []string{"POST", "PUT"} {
			t.Run(fmt.Sprintf("%s_%d", method, size), func(t *testing.T) {
				body := make([]byte, size)
				for i := range body {
					body[i] = byte(rng.UintN(256))
				}
				uri := "/v1/models/m:predict?a=1&a=2&b=%20x&c"
				resp := p.do(t, hc, method, uri, body,
					"Content-Type", "application/octet-stream",
					"X-Multi", "one", "X-Other", "o", "X-Multi", "two")
				if resp.StatusCode() != 200 {
					t.Fatalf("status: got %d; want 200", resp.StatusCode())
				}
				got, _ := rec.get()
				if got.method != method {
					t.Errorf("method: got %q; want %q", got.method, method)
				}
				if got.uri != uri {
					t.Errorf("uri: got %q; want %q", got.uri, uri)
				}
				if !bytes.Equal(got.body, body) {
					t.Errorf("body: got %d bytes; want %d identical bytes", len(got.body), len(body))
				}
				if m := got.header("X-Multi"); len(m) != 2 || m[0] != "one" || m[1] != "two" {
					t.Errorf("repeated header: got %q; want [one two]", m)
				}
				order := headerOrder(got.rawHeaders, "X-Multi", "X-Other")
				if want := "X-Multi,X-Other,X-Multi"; order != want {
					t.Errorf("header order: got %s; want %s\nraw:\n%s", order, want, got.rawHeaders)
				}
				if ct := got.header("Content-Type"); len(ct) != 1 || ct[0] != "application/octet-stream" {
					t.Errorf("content-type: got %q", ct)
				}
			})
		}
	}
}

// headerOrder lists, in raw order, the occurrences of the named headers.
func headerOrder(raw string, names ...string) string {
	var seen []string
	for _, line := range strings.Split(raw, "\r\n") {
		k, _, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for _, n := range names {
			if strings.EqualFold(k, n) {
				seen = append(seen, n)
			}
		}
	}
	return strings.Join(seen, ",")
}

func TestResponseTransparency(t *testing.T) {
	body := bytes.Repeat([]byte{0, 1, 2, 0xff}, 4096)
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(201)
		ctx.Response.Header.Add("X-Resp", "a")
		ctx.Response.Header.Add("X-Resp", "b")
		ctx.Response.Header.Add("Set-Cookie", "s=1")
		ctx.Response.Header.Add("Set-Cookie", "t=2")
		ctx.SetContentType("application/x-test")
		ctx.SetBody(body)
	})
	p := startProxy(t, mustParse(t, oneRoute(up)), Options{})
	resp := p.do(t, p.client(), "GET", "/x", nil)
	if resp.StatusCode() != 201 {
		t.Errorf("status: got %d; want 201", resp.StatusCode())
	}
	if !bytes.Equal(resp.Body(), body) {
		t.Errorf("body differs: got %d bytes; want %d", len(resp.Body()), len(body))
	}
	var xr []string
	for _, v := range resp.Header.PeekAll("X-Resp") {
		xr = append(xr, string(v))
	}
	if strings.Join(xr, ",") != "a,b" {
		t.Errorf("X-Resp: got %q; want [a b]", xr)
	}
	var cookies []string
	for _, v := range resp.Header.Cookies() {
		cookies = append(cookies, string(v))
	}
	if strings.Join(cookies, ",") != "s=1,t=2" {
		t.Errorf("Set-Cookie: got %q; want [s=1 t=2]", cookies)
	}
	if ct := string(resp.Header.ContentType()); ct != "application/x-test" {
		t.Errorf("content-type: got %q", ct)
	}
}

// rawExchange writes raw bytes to addr and returns the response it reads.
func rawExchange(t *testing.T, addr, raw string) *fasthttp.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp := &fasthttp.Response{}
	if err := resp.Read(bufio.NewReader(conn)); err != nil {
		t.Fatalf("reading response: %v", err)
	}
	return resp
}

func TestChunkedClientRequest(t *testing.T) {
	rec := &recorder{}
	up := startUpstream(t, rec.handle)
	p := startProxy(t, mustParse(t, oneRoute(up)), Options{})
	raw := "POST /chunked HTTP/1.1\r\nHost: model\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
	resp := rawExchange(t, p.addr, raw)
	if resp.StatusCode() != 200 {
		t.Fatalf("status: got %d; want 200", resp.StatusCode())
	}
	got, _ := rec.get()
	if string(got.body) != "hello, world" {
		t.Errorf("body: got %q; want %q", got.body, "hello, world")
	}
	if te := got.header("Transfer-Encoding"); len(te) != 0 {
		t.Errorf("upstream saw Transfer-Encoding %q; the proxy re-frames the body", te)
	}
	if host := got.header("Host"); len(host) != 1 || host[0] != "model" {
		t.Errorf("Host: got %q; want [model] (unchanged)", host)
	}
}

func TestHopByHopHeaders(t *testing.T) {
	rec := &recorder{resp: func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Connection", "X-Resp-Hop")
		ctx.Response.Header.Set("X-Resp-Hop", "1")
		ctx.Response.Header.Set("Keep-Alive", "timeout=5")
		ctx.Response.Header.Set("Proxy-Authenticate", "Basic")
		ctx.Response.Header.Set("X-Kept", "yes")
		ctx.SetBodyString("ok")
	}}
	up := startUpstream(t, rec.handle)
	p := startProxy(t, mustParse(t, oneRoute(up)), Options{})
	raw := "GET /hop HTTP/1.1\r\nHost: model\r\n" +
		"Connection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\n" +
		"Proxy-Authorization: Basic Zm9v\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: websocket\r\n" +
		"X-Forwarded-For: 10.1.2.3\r\nX-End-To-End: kept\r\n\r\n"
	resp := rawExchange(t, p.addr, raw)
	if resp.StatusCode() != 200 {
		t.Fatalf("status: got %d; want 200; body %s", resp.StatusCode(), resp.Body())
	}
	got, _ := rec.get()
	for _, h := range []string{"Connection", "X-Hop", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "TE", "Upgrade"} {
		if v := got.header(h); len(v) != 0 {
			t.Errorf("upstream saw hop-by-hop %s: %q", h, v)
		}
	}
	if v := got.header("X-End-To-End"); len(v) != 1 {
		t.Errorf("end-to-end header lost: got %q", v)
	}
	if v := got.header("X-Forwarded-For"); len(v) != 1 || v[0] != "10.1.2.3, 127.0.0.1" {
		t.Errorf("X-Forwarded-For: got %q; want [10.1.2.3, 127.0.0.1]", v)
	}
	for _, h := range []string{"X-Resp-Hop", "Keep-Alive", "Proxy-Authenticate"} {
		if v := resp.Header.Peek(h); len(v) != 0 {
			t.Errorf("client saw hop-by-hop response header %s: %q", h, v)
		}
	}
	if v := string(resp.Header.Peek("X-Kept")); v != "yes" {
		t.Errorf("X-Kept: got %q; want yes", v)
	}
}

func TestRequestID(t *testing.T) {
	rec := &recorder{}
	up := startUpstream(t, rec.handle)
	p := startProxy(t, mustParse(t, oneRoute(up)), Options{})
	hc := p.client()

	p.do(t, hc, "POST", "/", []byte("{}"), "X-Request-Id", "abc-123")
	got, _ := rec.get()
	if id := got.header("X-Request-Id"); len(id) != 1 || id[0] != "abc-123" {
		t.Errorf("propagated id: got %q; want [abc-123]", id)
	}

	ids := map[string]bool{}
	for range 50 {
		p.do(t, hc, "POST", "/", []byte("{}"))
		got, _ = rec.get()
		id := got.header("X-Request-Id")
		if len(id) != 1 || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id[0]) {
			t.Fatalf("generated id: got %q; want 32 hex digits", id)
		}
		ids[id[0]] = true
	}
	if len(ids) != 50 {
		t.Errorf("generated ids: got %d distinct of 50", len(ids))
	}
}

func TestBodyLimit(t *testing.T) {
	rec := &recorder{}
	up := startUpstream(t, rec.handle)
	cfg := mustParse(t, strings.Replace(oneRoute(up), "max_request_body: 9MiB", "max_request_body: 1KiB", 1))
	p := startProxy(t, cfg, Options{})
	resp := rawExchange(t, p.addr, fmt.Sprintf("POST / HTTP/1.1\r\nHost: m\r\nContent-Length: 1025\r\n\r\n%s", strings.Repeat("x", 1025)))
	if resp.StatusCode() != 413 {
		t.Fatalf("status: got %d; want 413", resp.StatusCode())
	}
	assertJSONError(t, resp.Body(), "request body exceeds max_request_body", "", "")
	if _, n := rec.get(); n != 0 {
		t.Errorf("upstream got %d requests; want 0", n)
	}
	ok := p.do(t, p.client(), "POST", "/", bytes.Repeat([]byte("x"), 1024))
	if ok.StatusCode() != 200 {
		t.Errorf("body at the limit: got %d; want 200", ok.StatusCode())
	}
}

func assertJSONError(t *testing.T, body []byte, msg, route, arm string) {
	t.Helper()
	var e struct {
		Error, Route, Arm string
		Status            int
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, body)
	}
	if e.Error != msg || e.Route != route || e.Arm != arm {
		t.Errorf("error: got %+v; want error=%q route=%q arm=%q", e, msg, route, arm)
	}
}

func TestUpstreamFailures(t *testing.T) {
	slow := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		time.Sleep(300 * time.Millisecond)
		ctx.SetBodyString("late")
	})
	resetter := testupstream.Resetter(t)
	cases := []struct {
		name, upstream, extra string
		status                int
		msg, reason           string
	}{
		{"refused", deadAddr(t), "", 502, "upstream refused the connection", "refused"},
		{"timeout", slow, ", timeout: 50ms", 504, "upstream timed out", "timeout"},
		{"reset", resetter, "", 502, "upstream closed or reset the connection", "reset"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, fmt.Sprintf(`
upstreams:
  live: { address: %s%s }
routes:
  - name: predict
    split: [{ upstream: live, weight: 1 }]
`, tc.upstream, tc.extra))
			p := startProxy(t, cfg, Options{})
			resp := p.do(t, p.client(), "POST", "/v1/predict", []byte(`{}`))
			if resp.StatusCode() != tc.status {
				t.Fatalf("status: got %d; want %d; body %s", resp.StatusCode(), tc.status, resp.Body())
			}
			assertJSONError(t, resp.Body(), tc.msg, "predict", "live")
			got := counterValue(t, p.reg, "driftcar_upstream_errors_total", map[string]string{"route": "predict", "arm": "live", "reason": tc.reason})
			if got != 1 {
				t.Errorf("upstream_errors_total{reason=%q}: got %v; want 1", tc.reason, got)
			}
		})
	}
}

func TestCanaryFallback(t *testing.T) {
	live := &recorder{}
	liveAddr := startUpstream(t, live.handle)
	resetter := testupstream.Resetter(t)
	cfgFor := func(canary, fallback string) string {
		return fmt.Sprintf(`
upstreams:
  live:   { address: %s }
  canary: { address: %s }
routes:
  - name: predict
    split:
      - { upstream: live,   weight: 0 }
      - { upstream: canary, weight: 1 }
%s`, liveAddr, canary, fallback)
	}
	cases := []struct {
		name, canary, fallback, method string
		status                         int
		msg                            string
	}{
		{"refused POST falls back", deadAddr(t), "", "POST", 200, ""},
		{"reset GET falls back", resetter, "", "GET", 200, ""},
		{"reset POST does not", resetter, "", "POST", 502, "upstream closed or reset the connection"},
		{"fallback none", deadAddr(t), "    fallback: none\n", "GET", 502, "upstream refused the connection"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, mustParse(t, cfgFor(tc.canary, tc.fallback)), Options{})
			resp := p.do(t, p.client(), tc.method, "/v1/predict", []byte(`{}`))
			if resp.StatusCode() != tc.status {
				t.Fatalf("status: got %d; want %d; body %s", resp.StatusCode(), tc.status, resp.Body())
			}
			fallbacks := counterValue(t, p.reg, "driftcar_fallbacks_total", map[string]string{"route": "predict", "arm": "canary"})
			wantFallbacks := 0.0
			if tc.status == 200 {
				wantFallbacks = 1
			}
			if fallbacks != wantFallbacks {
				t.Errorf("fallbacks_total: got %v; want %v", fallbacks, wantFallbacks)
			}
			if tc.status != 200 {
				assertJSONError(t, resp.Body(), tc.msg, "predict", "canary")
			}
		})
	}
}

func TestNoRoute(t *testing.T) {
	up := startUpstream(t, (&recorder{}).handle)
	cfg := mustParse(t, fmt.Sprintf(`
upstreams:
  live: { address: %s }
routes:
  - name: predict
    match: { path_prefix: /v1/models/credit }
    split: [{ upstream: live, weight: 1 }]
`, up))
	p := startProxy(t, cfg, Options{})
	resp := p.do(t, p.client(), "GET", "/other", nil)
	if resp.StatusCode() != 404 {
		t.Fatalf("status: got %d; want 404", resp.StatusCode())
	}
	assertJSONError(t, resp.Body(), "no route matches the request path", "", "")
}
