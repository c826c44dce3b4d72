package testupstream

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"
)

// GoleakOptions ignore fasthttp's own background goroutines: two
// process-wide ones (the Date header ticker and the default dialer's DNS
// cache cleaner) and two cleaners that sleep for an idle duration before
// they see that their server stopped or their pool emptied. Every other
// goroutine must be gone when a test ends.
var GoleakOptions = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
	// lumberjack v2.2.1 starts one compression goroutine per file logger
	// and Close does not stop it; driftcar keeps its file sinks across
	// reloads that leave the sinks alone, so only a sink change adds one.
	goleak.IgnoreAnyFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"),
}

// Start serves h on a fresh 127.0.0.1 port until the test ends and returns
// the address.
func Start(tb testing.TB, h fasthttp.RequestHandler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &fasthttp.Server{
		Handler:               h,
		NoDefaultServerHeader: true,
		NoDefaultDate:         true,
		CloseOnShutdown:       true,
		MaxRequestBodySize:    64 << 20,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.ShutdownWithContext(ctx)
		<-done
	})
	return ln.Addr().String()
}

// Answer returns a handler that replies body as JSON with the given name in
// the X-Upstream header, so tests can see which arm served a request.
func Answer(name, body string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("X-Upstream", name)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(body)
	}
}
