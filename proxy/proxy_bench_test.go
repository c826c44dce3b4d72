package proxy

import (
	"fmt"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/internal/testupstream"
)

const benchBody = `{"instances":[{"age":41,"income":52000.5,"country":"DE","tenure":3}]}`

func newHandlerHarness(tb testing.TB, yaml string) *testupstream.Harness {
	tb.Helper()
	s, err := New(mustParse(tb, yaml), Options{Metrics: NewMetrics(prometheus.NewRegistry())})
	if err != nil {
		tb.Fatal(err)
	}
	h := testupstream.NewHarness(s.Handler(), "/v1/models/m:predict", benchBody)
	h.Template.Header.Set("X-User-Id", "user-42")
	return h
}

func stubUpstream(tb testing.TB) string {
	tb.Helper()
	return startUpstream(tb, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"predictions":[0.73]}`)
	})
}

func splitConfig(live, canary string, sticky bool) string {
	s := fmt.Sprintf(`
upstreams:
  live:   { address: %s }
  canary: { address: %s }
routes:
  - name: predict
    split:
      - { upstream: live,   weight: 90 }
      - { upstream: canary, weight: 10 }
`, live, canary)
	if sticky {
		s += "    sticky: { header: x-user-id }\n"
	}
	return s
}

func BenchmarkHandler(b *testing.B) {
	up := stubUpstream(b)
	for _, sticky := range []bool{false, true} {
		b.Run(fmt.Sprintf("sticky=%t", sticky), func(b *testing.B) {
			h := newHandlerHarness(b, splitConfig(up, up, sticky))
			h.ServeOK(b)
			b.ReportAllocs()
			b.SetBytes(int64(len(benchBody)))
			for b.Loop() {
				h.ServeOK(b)
			}
		})
	}
}

// BenchmarkDirect is the baseline for BenchmarkHandler: the same upstream
// call with no proxy work around it.
func BenchmarkDirect(b *testing.B) {
	up := stubUpstream(b)
	hc := &fasthttp.HostClient{Addr: up}
	var req fasthttp.Request
	var resp fasthttp.Response
	req.Header.SetMethod("POST")
	req.SetRequestURI("/v1/models/m:predict")
	req.Header.SetHost("model")
	req.SetBodyString(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		if err := hc.Do(&req, &resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChooser(b *testing.B) {
	c := newChooser([]string{"live", "canary"}, []int{90, 10})
	key := []byte("user-123456")
	b.Run("random", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				benchSink += c.random(uint64(benchSink) % c.total)
			}
		})
	})
	b.Run("sticky", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				benchSink += c.sticky(key)
			}
		})
	})
}

var benchSink int

// BenchmarkHeaderWork is the header handling of one proxied request and
// its response: strip, X-Forwarded-For, request ID.
func BenchmarkHeaderWork(b *testing.B) {
	var tmpl, req fasthttp.Request
	tmpl.Header.SetMethod("POST")
	tmpl.SetRequestURI("/v1/models/m:predict")
	tmpl.Header.SetHost("127.0.0.1:18095")
	tmpl.Header.SetContentType("application/json")
	var resp fasthttp.Response
	resp.Header.SetContentType("application/json")
	client := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		tmpl.Header.CopyTo(&req.Header)
		buf = stripRequestHeaders(&req.Header, buf)
		buf = appendForwardedFor(&req.Header, client, buf)
		ensureRequestID(&req.Header)
		buf = stripResponseHopHeaders(&resp.Header, buf)
	}
}
