// Command passthrough is the floor that driftcar's proxy is measured
// against: a bare fasthttp reverse proxy (one HostClient, no routing,
// header handling, metrics or timeouts) with the same library and
// defaults driftcar builds on. bench/peers.sh runs it next to driftcar
// and nginx, so the cost of driftcar's own work and the cost of the
// library are told apart in one run.
//
// It has no state of its own: fasthttp's server and HostClient are safe
// for concurrent use.
package main

import (
	"flag"
	"log"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18111", "address to serve on")
	upstream := flag.String("upstream", "127.0.0.1:18081", "address to forward to")
	flag.Parse()
	client := &fasthttp.HostClient{Addr: *upstream, MaxConns: 512}
	handler := func(ctx *fasthttp.RequestCtx) {
		if err := client.Do(&ctx.Request, &ctx.Response); err != nil {
			ctx.Error(err.Error(), fasthttp.StatusBadGateway)
		}
	}
	log.Fatal(fasthttp.ListenAndServe(*listen, handler))
}
