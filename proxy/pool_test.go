package proxy

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/internal/testutil"
)

// TestUpstreamPoolShrinksAfterABurst: a burst opens many upstream
// connections; steady sequential traffic afterwards reuses the most
// recent one, so the others go idle and close after idle_timeout instead
// of staying open in rotation (memory and fds would otherwise keep the
// high-water mark of every burst).
func TestUpstreamPoolShrinksAfterABurst(t *testing.T) {
	var open atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Path()) == "/slow" {
				time.Sleep(50 * time.Millisecond)
			}
			ctx.SetBodyString(`{"predictions":[1]}`)
		},
		ConnState: func(_ net.Conn, st fasthttp.ConnState) {
			switch st {
			case fasthttp.StateNew:
				open.Add(1)
			case fasthttp.StateClosed:
				open.Add(-1)
			}
		},
	}
	go func() { _ = up.Serve(ln) }()
	t.Cleanup(func() { _ = up.Shutdown() })
	cfg := mustParse(t, fmt.Sprintf(`
upstreams:
  live: { address: %s, idle_timeout: 300ms, max_conns: 64 }
routes:
  - name: predict
    split: [{ upstream: live, weight: 1 }]
`, ln.Addr()))
	p := startProxy(t, cfg, Options{})

	const burst = 24
	var wg sync.WaitGroup
	for range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &fasthttp.HostClient{Addr: p.addr}
			defer hc.CloseIdleConnections()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://" + p.addr + "/slow")
			if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 200 {
				t.Errorf("burst request: %v %d", err, resp.StatusCode())
			}
		}()
	}
	wg.Wait()
	if n := open.Load(); n < burst/2 {
		t.Fatalf("the burst opened only %d upstream connections; the test needs many", n)
	}
	// Sequential requests every 5 ms: each of the burst's connections
	// would be reused well within 300 ms if the pool rotated through them.
	hc := p.client()
	testutil.Eventually(t, 10*time.Second, "the idle upstream connections close", func() bool {
		for range 20 {
			p.do(t, hc, "GET", "/fast", nil)
			time.Sleep(5 * time.Millisecond)
		}
		return open.Load() <= 2
	})
}
