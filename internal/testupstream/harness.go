package testupstream

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

// Harness drives a request handler directly with one reused RequestCtx, so
// benchmarks and allocation tests measure the handler and the upstream
// call it makes, and nothing of a client.
type Harness struct {
	Handler  fasthttp.RequestHandler
	Template fasthttp.Request
	ctx      fasthttp.RequestCtx
}

// NewHarness returns a harness whose template is a POST of body to uri
// from client 10.0.0.1.
func NewHarness(h fasthttp.RequestHandler, uri, body string) *Harness {
	hs := &Harness{Handler: h}
	hs.Template.Header.SetMethod("POST")
	hs.Template.SetRequestURI(uri)
	hs.Template.Header.SetHost("model")
	hs.Template.Header.SetContentType("application/json")
	hs.Template.SetBodyString(body)
	hs.ctx.Init(&hs.Template, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 5555}, nil)
	return hs
}

// Serve runs the handler on a fresh copy of the template and returns the
// response, valid until the next Serve.
func (hs *Harness) Serve() *fasthttp.Response {
	hs.Template.CopyTo(&hs.ctx.Request)
	hs.ctx.Response.Reset()
	hs.Handler(&hs.ctx)
	return &hs.ctx.Response
}

// ServeOK is Serve failing tb unless the status is 200.
func (hs *Harness) ServeOK(tb testing.TB) *fasthttp.Response {
	tb.Helper()
	resp := hs.Serve()
	if resp.StatusCode() != 200 {
		tb.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
	}
	return resp
}
