package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18093", "address to serve on")
	upstream := flag.String("upstream", "http://127.0.0.1:18081", "model server URL")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.Transport = &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}
	log.Fatal(http.ListenAndServe(*listen, p)) //nolint:gosec // a loopback benchmark peer needs no timeouts
}
