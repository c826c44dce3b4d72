package proxy

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

func startUpstream(tb testing.TB, h fasthttp.RequestHandler) string {
	tb.Helper()
	return testupstream.Start(tb, h)
}

func deadAddr(tb testing.TB) string {
	tb.Helper()
	return testutil.FreePort(tb)
}

// recorded is what an upstream saw of one request.
type recorded struct {
	method, uri, protocol string
	rawHeaders            string
	headers               [][2]string // in order, as parsed
	body                  []byte
}

// recorder is an upstream handler that keeps the last request it saw.
type recorder struct {
	mu   sync.Mutex
	last recorded
	n    int
	resp func(ctx *fasthttp.RequestCtx)
}

func (rc *recorder) handle(ctx *fasthttp.RequestCtx) {
	r := recorded{
		method:     string(ctx.Method()),
		uri:        string(ctx.RequestURI()),
		protocol:   string(ctx.Request.Header.Protocol()),
		rawHeaders: string(ctx.Request.Header.RawHeaders()),
		body:       append([]byte(nil), ctx.PostBody()...),
	}
	for k, v := range ctx.Request.Header.All() {
		r.headers = append(r.headers, [2]string{string(k), string(v)})
	}
	rc.mu.Lock()
	rc.last = r
	rc.n++
	rc.mu.Unlock()
	if rc.resp != nil {
		rc.resp(ctx)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"predictions":[0.73]}`)
}

func (rc *recorder) get() (recorded, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.last, rc.n
}

func (r recorded) header(name string) []string {
	var vs []string
	for _, kv := range r.headers {
		if strings.EqualFold(kv[0], name) {
			vs = append(vs, kv[1])
		}
	}
	return vs
}

func mustParse(tb testing.TB, yaml string) *config.Config {
	tb.Helper()
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		tb.Fatalf("config does not parse: %v\n%s", err, yaml)
	}
	return cfg
}

type testProxy struct {
	srv     *Server
	addr    string
	reg     *prometheus.Registry
	metrics *Metrics
}

// startProxy runs a Server for cfg on a loopback listener.
func startProxy(tb testing.TB, cfg *config.Config, opts Options) *testProxy {
	tb.Helper()
	reg := prometheus.NewRegistry()
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(reg)
	}
	s, err := New(cfg, opts)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(ln)
	}()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		<-done
	})
	return &testProxy{srv: s, addr: ln.Addr().String(), reg: reg, metrics: opts.Metrics}
}

// client returns a fasthttp client for the proxy with its own pool.
func (p *testProxy) client() *fasthttp.HostClient {
	return &fasthttp.HostClient{Addr: p.addr, MaxConns: 64, ReadTimeout: 10 * time.Second, MaxResponseBodySize: 64 << 20}
}

// do sends one request to the proxy and returns the response.
func (p *testProxy) do(tb testing.TB, hc *fasthttp.HostClient, method, uri string, body []byte, headers ...string) *fasthttp.Response {
	tb.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://" + p.addr + uri)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	if body != nil {
		req.SetBody(body)
	}
	resp := &fasthttp.Response{}
	if err := hc.Do(req, resp); err != nil {
		tb.Fatalf("%s %s: %v", method, uri, err)
	}
	return resp
}

// counterValue reads one counter series from the registry.
func counterValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testupstream.GoleakOptions...)
}
