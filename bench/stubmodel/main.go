// Command stubmodel is a minimal fasthttp model server for load tests: it
// answers every request with a fixed KServe v1 prediction, optionally after
// a delay.
package main

import (
	"flag"
	"log"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18081", "address to serve on")
	delay := flag.Duration("delay", 0, "wait this long before answering")
	flag.Parse()
	body := []byte(`{"predictions":[0.73]}`)
	h := func(ctx *fasthttp.RequestCtx) {
		if *delay > 0 {
			time.Sleep(*delay)
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}
	srv := &fasthttp.Server{Handler: h, NoDefaultServerHeader: true, Concurrency: 1 << 16}
	log.Fatal(srv.ListenAndServe(*addr))
}
