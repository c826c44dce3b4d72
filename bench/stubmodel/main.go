package main

import (
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/driftcar/driftcar/bench/modelstub"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18081", "address to serve on")
	delay := flag.Duration("delay", 0, "wait this long before answering")
	protocol := flag.String("protocol", "v1", "answer format: v1 (KServe) or v2 (Open Inference)")
	errorRate := flag.Float64("error-rate", 0, "fraction of requests answered with 500, 0..1")
	flag.Parse()
	p, err := modelstub.ParseProtocol(*protocol)
	if err != nil {
		log.Fatal(err)
	}
	s, err := modelstub.Start(*addr, modelstub.Options{Protocol: p, Delay: *delay, ErrorRate: *errorRate})
	if err != nil {
		log.Fatal(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	_ = s.Close()
}
