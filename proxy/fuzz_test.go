package proxy

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// FuzzRawRequest feeds raw bytes to the proxy over loopback TCP, then
// half-closes so the proxy sees the end of input at once.
// It must never panic, must answer or close, and must never forward a
// request that carries both Content-Length and Transfer-Encoding.
func FuzzRawRequest(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: m\r\n\r\n",
		"POST /v1/models/m:predict HTTP/1.1\r\nHost: m\r\nContent-Length: 2\r\n\r\n{}",
		"POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: m\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET http://evil/ HTTP/1.1\r\nHost: evil\r\n\r\nGET /b HTTP/1.1\r\nHost: m\r\n\r\n",
		"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	rec := &recorder{resp: func(ctx *fasthttp.RequestCtx) {
		if len(ctx.Request.Header.Peek("Transfer-Encoding")) > 0 && len(ctx.Request.Header.Peek("Content-Length")) > 0 {
			panic("upstream got Content-Length and Transfer-Encoding together")
		}
		ctx.SetBodyString("{}")
	}}
	up := startUpstream(f, rec.handle)
	s, err := New(mustParse(f, oneRoute(up)), Options{Metrics: NewMetrics(nilRegistry())})
	if err != nil {
		f.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	f.Cleanup(func() { _ = ln.Close() })
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Skip()
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		go func() {
			_, _ = c.Write(raw)
			if cw, ok := c.(interface{ CloseWrite() error }); ok {
				_ = cw.CloseWrite()
			}
		}()
		br := bufio.NewReader(c)
		for {
			var resp fasthttp.Response
			if err := resp.Read(br); err != nil {
				return // closed, timed out or malformed: all fine
			}
		}
	})
}

func nilRegistry() *prometheus.Registry { return prometheus.NewRegistry() }
