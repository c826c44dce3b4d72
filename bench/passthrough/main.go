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
