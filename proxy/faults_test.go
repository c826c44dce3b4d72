package proxy

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/internal/testupstream"
)

// TestUpstreamFaults states what a client gets for each way the upstream
// can fail, and checks it.
func TestUpstreamFaults(t *testing.T) {
	write := func(s string) func(c *net.TCPConn) {
		return func(c *net.TCPConn) { _, _ = io.WriteString(c, s) }
	}
	cases := []struct {
		name   string
		behave func(c *net.TCPConn)
		status int
		reason string
	}{
		{"reset mid-response", func(c *net.TCPConn) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
			_ = c.SetLinger(0)
			_ = c.Close()
		}, 502, "reset"},
		{"half-close without answering", func(c *net.TCPConn) { _ = c.CloseWrite() }, 502, "reset"},
		{"malformed status line", write("HTTP/1.1 abc\r\n\r\n"), 502, "bad_response"},
		{"malformed header", write("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n{}"), 502, "bad_response"},
		{"truncated body", func(c *net.TCPConn) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
			_ = c.Close()
		}, 502, "reset"},
		{"Content-Length longer than the body", write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"), 504, "timeout"},
		{"slow trickle", func(c *net.TCPConn) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n")
			for range 50 {
				if _, err := io.WriteString(c, "x"); err != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}, 504, "timeout"},
	}
	healthy := startUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"predictions":[1]}`) })
	for _, arm := range []string{"live", "canary"} {
		for _, tc := range cases {
			t.Run(arm+"/"+tc.name, func(t *testing.T) {
				up, _ := testupstream.Raw(t, tc.behave)
				// The faulty arm takes all traffic; the other is healthy.
				liveAddr, canaryAddr, liveW, canaryW := up, healthy, 1, 0
				if arm == "canary" {
					liveAddr, canaryAddr, liveW, canaryW = healthy, up, 0, 1
				}
				cfg := mustParse(t, fmt.Sprintf(`
upstreams:
  live:   { address: %s, timeout: 300ms }
  canary: { address: %s, timeout: 300ms }
routes:
  - name: predict
    split: [{ upstream: live, weight: %d }, { upstream: canary, weight: %d }]
    arm_override: true
`, liveAddr, canaryAddr, liveW, canaryW))
				p := startProxy(t, cfg, Options{})
				resp := p.do(t, p.client(), "POST", "/v1/predict", []byte(`{}`))
				if resp.StatusCode() != tc.status {
					t.Fatalf("status: got %d; want %d; body %s", resp.StatusCode(), tc.status, resp.Body())
				}
				if body := string(resp.Body()); !strings.Contains(body, `"route":"predict"`) || !strings.Contains(body, `"arm":"`+arm+`"`) {
					t.Errorf("error body does not name the route and the %s arm: %s", arm, body)
				}
				if got := counterValue(t, p.reg, "driftcar_upstream_errors_total", map[string]string{"route": "predict", "arm": arm, "reason": tc.reason}); got != 1 {
					t.Errorf("upstream_errors_total{arm=%q,reason=%q}: got %v; want 1", arm, tc.reason, got)
				}
				if arm == "canary" {
					// Live traffic to the healthy live upstream is not failed
					// by the canary's fault.
					if resp := p.do(t, p.client(), "POST", "/v1/predict", []byte(`{}`), "x-driftcar-arm", "live"); resp.StatusCode() != 200 {
						t.Errorf("a live request after the canary fault: got %d %s", resp.StatusCode(), resp.Body())
					}
				}
				// The proxy keeps serving after the fault: a GET to the faulty
				// live arm gets the JSON error again; one to the faulty canary
				// falls back to live.
				want := `"route":"predict"`
				if arm == "canary" {
					want = `"predictions"`
				}
				if body := string(p.do(t, p.client(), "GET", "/v1/predict", nil).Body()); !strings.Contains(body, want) {
					t.Errorf("a GET after the fault: got %s; want it to contain %s", body, want)
				}
			})
		}
	}
}

// TestUpstreamSlowAndErroring: a model 10x slower than usual but within
// its timeout is waited for, and a burst of model errors reaches the
// client as the model sent it (driftcar counts them as 5xx, not as
// upstream failures).
func TestUpstreamSlowAndErroring(t *testing.T) {
	var calls atomic.Int64
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		k := calls.Add(1)
		if k <= 5 {
			time.Sleep(50 * time.Millisecond) // 10x a usual 5 ms
		}
		if k > 5 && k <= 15 {
			ctx.SetStatusCode(500)
			ctx.SetBodyString(`{"error":"model overloaded"}`)
			return
		}
		ctx.SetBodyString(`{"predictions":[1]}`)
	})
	p := startProxy(t, mustParse(t, oneRoute(up)), Options{})
	hc := p.client()
	statuses := map[int]int{}
	for range 20 {
		resp := p.do(t, hc, "POST", "/", []byte(`{}`))
		statuses[resp.StatusCode()]++
		if resp.StatusCode() == 500 && string(resp.Body()) != `{"error":"model overloaded"}` {
			t.Errorf("model error body changed: %s", resp.Body())
		}
	}
	if statuses[200] != 10 || statuses[500] != 10 {
		t.Errorf("statuses: got %v; want 10 x 200 and 10 x 500", statuses)
	}
	if got := counterValue(t, p.reg, "driftcar_requests_total", map[string]string{"code": "5xx", "arm": "live"}); got != 10 {
		t.Errorf("requests_total{code=5xx}: got %v; want 10", got)
	}
	for _, reason := range []string{"timeout", "reset", "bad_response"} {
		if got := counterValue(t, p.reg, "driftcar_upstream_errors_total", map[string]string{"route": "predict", "reason": reason}); got != 0 {
			t.Errorf("upstream_errors_total{reason=%q}: got %v; want 0", reason, got)
		}
	}
}
