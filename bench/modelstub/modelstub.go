package modelstub

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Protocol is the payload format a stub answers in.
type Protocol string

// Protocols.
const (
	V1 Protocol = "v1" // KServe v1: {"predictions":[...]}
	V2 Protocol = "v2" // Open Inference v2: {"outputs":[{...}]}
)

// ParseProtocol accepts v1, kserve-v1, v2 and open-inference-v2.
func ParseProtocol(s string) (Protocol, error) {
	switch s {
	case "v1", "kserve-v1":
		return V1, nil
	case "v2", "open-inference-v2":
		return V2, nil
	}
	return "", fmt.Errorf("cannot parse protocol %q: want v1 or v2", s)
}

// ConfigName is the protocol's name in a driftcar route config.
func (p Protocol) ConfigName() string {
	if p == V2 {
		return "open-inference-v2"
	}
	return "kserve-v1"
}

// Path is the inference path clients post to.
func (p Protocol) Path() string {
	if p == V2 {
		return "/v2/models/m/infer"
	}
	return "/v1/models/m:predict"
}

// RequestBody is a small request with the four features the benchmarks
// sample: age, income, country and tenure. The v1 body is the one of
// bench/peers/body.lua.
func (p Protocol) RequestBody() []byte {
	if p == V2 {
		return []byte(`{"inputs":[` +
			`{"name":"age","shape":[1],"datatype":"FP32","data":[41]},` +
			`{"name":"income","shape":[1],"datatype":"FP32","data":[52000.5]},` +
			`{"name":"country","shape":[1],"datatype":"BYTES","data":["DE"]},` +
			`{"name":"tenure","shape":[1],"datatype":"FP32","data":[3]}]}`)
	}
	return []byte(`{"instances":[{"age":41,"income":52000.5,"country":"DE","tenure":3}]}`)
}

// ResponseBody is the prediction a stub answers with: 0.73.
func (p Protocol) ResponseBody() []byte {
	if p == V2 {
		return []byte(`{"model_name":"m","outputs":[{"name":"predict","shape":[1],"datatype":"FP32","data":[0.73]}]}`)
	}
	return []byte(`{"predictions":[0.73]}`)
}

// Options configure a Server. The zero value answers v1 at once.
type Options struct {
	// Protocol of the answer. Default V1.
	Protocol Protocol
	// Delay is how long each answer waits. Default 0.
	Delay time.Duration
	// ErrorRate is the fraction of requests, 0..1, answered with 500.
	// Default 0.
	ErrorRate float64
}

// Server is one running stub.
type Server struct {
	srv      *fasthttp.Server
	ln       net.Listener
	done     chan struct{}
	requests atomic.Int64
	errors   atomic.Int64
}

var errBadErrorRate = errors.New("modelstub: error rate must be within [0,1]")

// Handler returns the request handler of a stub with opts. requests and
// errors, when not nil, count the requests served and the ones failed.
func Handler(opts Options, requests, errs *atomic.Int64) fasthttp.RequestHandler {
	if opts.Protocol == "" {
		opts.Protocol = V1
	}
	body := opts.Protocol.ResponseBody()
	failBody := []byte(`{"error":"modelstub: injected failure"}`)
	return func(ctx *fasthttp.RequestCtx) {
		if requests != nil {
			requests.Add(1)
		}
		if opts.Delay > 0 {
			time.Sleep(opts.Delay)
		}
		ctx.SetContentType("application/json")
		if opts.ErrorRate > 0 && rand.Float64() < opts.ErrorRate {
			if errs != nil {
				errs.Add(1)
			}
			ctx.SetStatusCode(fasthttp.StatusInternalServerError)
			ctx.SetBody(failBody)
			return
		}
		ctx.SetBody(body)
	}
}

// Start serves a stub on addr ("127.0.0.1:0" picks a free port).
func Start(addr string, opts Options) (*Server, error) {
	if opts.ErrorRate < 0 || opts.ErrorRate > 1 {
		return nil, errBadErrorRate
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	s := &Server{ln: ln, done: make(chan struct{})}
	s.srv = &fasthttp.Server{
		Handler:               Handler(opts, &s.requests, &s.errors),
		NoDefaultServerHeader: true,
		NoDefaultDate:         true,
		CloseOnShutdown:       true,
		Concurrency:           1 << 16,
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Addr is the bound host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Requests is the number of requests served so far.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Errors is the number of requests failed on purpose so far.
func (s *Server) Errors() int64 { return s.errors.Load() }

// Close stops the server, waiting at most 5 seconds for open requests.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.ShutdownWithContext(ctx)
	<-s.done
	return err
}
