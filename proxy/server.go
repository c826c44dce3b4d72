package proxy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/driftcar/driftcar/config"
)

// pseudoRoute labels requests that matched no route or failed before
// routing. Route names cannot start with "_", so it never collides.
const pseudoRoute = "_none"

// Options are a Server's dependencies.
type Options struct {
	// Logger receives server errors. Default: a no-op logger.
	Logger *zap.Logger
	// Metrics must be created once per registry with NewMetrics. Required.
	Metrics *Metrics
	// Rand returns a uniform integer in [0, n) for weighted arm choice. It
	// must be safe for concurrent use. Default: math/rand/v2.Uint64N.
	Rand func(n uint64) uint64
}

// Server proxies inference requests. Build it with New.
type Server struct {
	log     *zap.Logger
	metrics *Metrics
	rand    func(uint64) uint64
	srv     *fasthttp.Server

	table atomic.Pointer[table]

	mu        sync.Mutex // serializes Apply; guards pools
	pools     map[poolKey]*pool
	unmatched *armMetrics

	scratch sync.Pool // *scratch
}

type scratch struct{ buf []byte }

// New builds a Server serving cfg. Fields of cfg that shape the listener
// itself (max_request_body, client) are fixed for the Server's life.
func New(cfg *config.Config, opts Options) (*Server, error) {
	if opts.Metrics == nil {
		return nil, errors.New("proxy: Options.Metrics is required")
	}
	s := &Server{
		log:     opts.Logger,
		metrics: opts.Metrics,
		rand:    opts.Rand,
		pools:   make(map[poolKey]*pool),
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.rand == nil {
		s.rand = rand.Uint64N
	}
	s.scratch.New = func() any { return &scratch{buf: make([]byte, 0, 256)} }
	s.unmatched = s.metrics.forArm(pseudoRoute, pseudoRoute)
	s.srv = &fasthttp.Server{
		Handler:                      s.serve,
		ErrorHandler:                 s.serveError,
		Logger:                       zapPrintf{s.log},
		MaxRequestBodySize:           int(cfg.MaxRequestBody),
		ReadTimeout:                  time.Duration(cfg.Client.ReadTimeout),
		WriteTimeout:                 time.Duration(cfg.Client.WriteTimeout),
		IdleTimeout:                  time.Duration(cfg.Client.IdleTimeout),
		ReadBufferSize:               int(cfg.Client.MaxHeaderBytes),
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		NoDefaultDate:                true,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
	}
	s.Apply(cfg, nil)
	return s, nil
}

// Apply swaps in a routing table built from cfg and taps. Requests in
// flight finish on the previous table. Connection pools whose settings did
// not change are kept, so a reload does not drop warm connections.
func (s *Server) Apply(cfg *config.Config, taps Taps) {
	s.mu.Lock()
	defer s.mu.Unlock()

	used := make(map[poolKey]bool, len(cfg.Upstreams))
	upstreams := make(map[string]*upstream, len(cfg.Upstreams))
	for name, u := range cfg.Upstreams {
		k := keyOf(u)
		p := s.pools[k]
		if p == nil {
			p = newPool(k)
			s.pools[k] = p
		}
		used[k] = true
		upstreams[name] = &upstream{name: name, pool: p, timeout: time.Duration(u.Timeout)}
	}

	t := &table{cfg: cfg}
	kept := make(map[[2]string]bool)
	for _, rc := range cfg.Routes {
		r := &route{
			name:        rc.Name,
			pathPrefix:  rc.Match.PathPrefix,
			sticky:      stickyOf(rc.Sticky),
			fallback:    -1,
			armOverride: rc.ArmOverride,
			mirror:      taps[rc.Name].Mirror,
			sampler:     taps[rc.Name].Sampler,
			tokens:      taps[rc.Name].Tokens,
			timeTokens:  taps[rc.Name].TimeTokens,
			recorder:    taps[rc.Name].Recorder,
		}
		names := make([]string, len(rc.Split))
		weights := make([]int, len(rc.Split))
		for i, a := range rc.Split {
			names[i], weights[i] = a.Upstream, *a.Weight
			r.arms = append(r.arms, &arm{
				name:     a.Upstream,
				upstream: upstreams[a.Upstream],
				metrics:  s.metrics.forArm(rc.Name, a.Upstream),
			})
			r.arms[i].metrics.stats.timed.Store(r.timeTokens)
			kept[[2]string{rc.Name, a.Upstream}] = true
			if a.Upstream == rc.Fallback {
				r.fallback = i
			}
		}
		r.choose = newChooser(names, weights)
		t.routes = append(t.routes, r)
	}

	old := s.table.Swap(t)
	if old != nil {
		for _, r := range old.routes {
			for _, a := range r.arms {
				if !kept[[2]string{r.name, a.name}] {
					s.metrics.forget(r.name, a.name)
				}
			}
		}
	}
	for k, p := range s.pools {
		if !used[k] {
			p.closeIdle()
			delete(s.pools, k)
		}
	}
}

// Config returns the config of the table now serving.
func (s *Server) Config() *config.Config { return s.table.Load().cfg }

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.srv.Serve(ln); err != nil {
		return fmt.Errorf("cannot serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// Shutdown stops accepting, waits for in-flight requests until ctx ends,
// then closes the remaining connections and the upstream pools.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.ShutdownWithContext(ctx)
	s.mu.Lock()
	for _, p := range s.pools {
		p.closeIdle()
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("cannot drain connections: %w", err)
	}
	return nil
}

// Handler returns the request handler, for in-memory serving in tests and
// benchmarks.
func (s *Server) Handler() fasthttp.RequestHandler { return s.serve }

func (s *Server) serve(ctx *fasthttp.RequestCtx) {
	if status, msg := reject(&ctx.Request); status != 0 {
		writeError(ctx, status, msg, "", "")
		ctx.SetConnectionClose()
		s.unmatched.stats.requests[statusClass(status)].Add(1)
		return
	}
	t := s.table.Load()
	r := t.match(ctx.Path())
	if r == nil {
		writeError(ctx, fasthttp.StatusNotFound, "no route matches the request path", "", "")
		s.unmatched.stats.requests[statusClass(fasthttp.StatusNotFound)].Add(1)
		return
	}

	sc := s.scratch.Get().(*scratch)
	defer s.scratch.Put(sc)

	req := &ctx.Request
	clientClose := req.Header.ConnectionClose()
	http10 := !req.Header.IsHTTP11()
	i := s.pickArm(r, req)
	sc.buf = stripRequestHeaders(&req.Header, sc.buf)
	sc.buf = appendForwardedFor(&req.Header, ctx.RemoteAddr(), sc.buf)
	requestID := ensureRequestID(&req.Header)
	if http10 {
		req.Header.SetProtocol("HTTP/1.1")
	}
	var sink LiveSink
	if r.mirror != nil {
		sink = r.mirror.Offer(req, requestID)
	}

	a := r.arms[i]
	end, err := a.call(req, &ctx.Response)
	failed := noFailure
	if err != nil {
		f := classify(err)
		a.metrics.errors[f].Inc()
		if fb := r.fallback; fb >= 0 && fb != i && (f.neverSent() || isIdempotent(req)) {
			a.metrics.fallback.Inc()
			a = r.arms[fb]
			ctx.Response.Reset()
			if end, err = a.call(req, &ctx.Response); err != nil {
				f = classify(err)
				a.metrics.errors[f].Inc()
			}
		}
		if err != nil {
			failed = f
			writeError(ctx, failureStatus[f], failureMessages[f], r.name, a.name)
		}
	}
	if err == nil {
		sc.buf = stripResponseHopHeaders(&ctx.Response.Header, sc.buf)
	}
	st, streaming := ctx.Response.BodyStream().(*upstreamStream)
	if streaming {
		st.end = streamEnd(r, a, req, &ctx.Response.Header, sink, ctx.Time(), requestID)
		if r.timeTokens {
			st.timing, st.began = a.metrics.stats, ctx.Time()
		}
	} else {
		if sink != nil {
			sink.Live(&ctx.Response)
		}
		if r.sampler != nil {
			r.sampler.Sample(req, &ctx.Response, a.name)
		}
		if r.tokens != nil {
			r.tokens.Sample(req, &ctx.Response, a.name)
		}
		if r.recorder != nil {
			r.recorder.Record(req, &ctx.Response, Exchange{
				Arm: a.name, RequestID: requestID, Start: ctx.Time(), Duration: end.Sub(ctx.Time()),
				Failure: failed.label(), Mirrored: sink != nil,
			})
		}
	}
	if http10 {
		req.Header.SetProtocol("HTTP/1.0")
	}
	if clientClose {
		req.Header.SetConnectionClose()
	}
	if !streaming {
		// The server read the clock when it called the handler; reuse it.
		a.metrics.stats.observe(statusClass(ctx.Response.StatusCode()), end.Sub(ctx.Time()))
	}
}

// streamEnd returns what runs when a streamed response has been written
// (or cut): its accounting and the taps, which get the bounded copy. The
// server calls it while it still holds the request.
func streamEnd(r *route, a *arm, req *fasthttp.Request, h *fasthttp.ResponseHeader, sink LiveSink, start time.Time, requestID []byte) func(*upstreamStream, error) {
	return func(st *upstreamStream, writeErr error) {
		failed := noFailure
		switch {
		case st.readErr != nil:
			failed = failBrokenStream
		case writeErr != nil:
			failed = failClientGone
		}
		if failed != noFailure {
			a.metrics.errors[failed].Inc()
		}
		d := time.Since(start)
		a.metrics.stats.observe(statusClass(h.StatusCode()), d)
		if sink == nil && r.sampler == nil && r.tokens == nil && r.recorder == nil {
			return
		}
		tap := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseResponse(tap)
		h.CopyTo(&tap.Header)
		tap.SetBodyRaw(st.copy)
		if sink != nil {
			sink.Live(tap)
		}
		if r.recorder != nil {
			r.recorder.Record(req, tap, Exchange{
				Arm: a.name, RequestID: requestID, Start: start, Duration: d,
				Failure: failed.label(), Mirrored: sink != nil,
			})
		}
		if !st.eof || st.readErr != nil || writeErr != nil {
			return
		}
		if r.sampler != nil {
			r.sampler.Sample(req, tap, a.name)
		}
		if r.tokens != nil {
			r.tokens.Sample(req, tap, a.name)
		}
	}
}

// call sends req to the arm's upstream and returns when the call ended.
// An HTTP/1.0 request without Host gets the upstream's address as Host.
func (a *arm) call(req *fasthttp.Request, resp *fasthttp.Response) (time.Time, error) {
	if len(req.Header.Host()) == 0 && a.upstream != nil {
		req.Header.SetHost(a.upstream.pool.first)
		req.URI().SetHost(a.upstream.pool.first)
	}
	start := time.Now()
	err := a.upstream.do(req, resp)
	end := time.Now()
	a.metrics.upstream.Observe(end.Sub(start).Seconds())
	return end, err
}

func (s *Server) pickArm(r *route, req *fasthttp.Request) int {
	if len(r.arms) == 1 {
		return 0
	}
	if r.armOverride {
		if v := req.Header.Peek(headerArmOverride); len(v) > 0 {
			if i := r.armByName(v); i >= 0 {
				return i
			}
		}
	}
	if key := r.stickyValue(req); len(key) > 0 {
		if i := r.choose.sticky(key); i >= 0 {
			return i
		}
	}
	return r.choose.random(s.rand(r.choose.total))
}

func (r *route) stickyValue(req *fasthttp.Request) []byte {
	switch r.sticky.kind {
	case stickyHeader:
		return req.Header.Peek(r.sticky.name)
	case stickyCookie:
		return req.Header.Cookie(r.sticky.name)
	case stickyQuery:
		return req.URI().QueryArgs().Peek(r.sticky.name)
	}
	return nil
}

func isIdempotent(req *fasthttp.Request) bool {
	switch string(req.Header.Method()) {
	case fasthttp.MethodGet, fasthttp.MethodHead, fasthttp.MethodOptions,
		fasthttp.MethodTrace, fasthttp.MethodPut, fasthttp.MethodDelete:
		return true
	}
	return false
}

// serveError answers requests fasthttp could not read.
func (s *Server) serveError(ctx *fasthttp.RequestCtx, err error) {
	status, msg := fasthttp.StatusBadRequest, "malformed request"
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, msg = fasthttp.StatusRequestEntityTooLarge, "request body exceeds max_request_body"
	case errors.As(err, &netErr) && netErr.Timeout():
		status, msg = fasthttp.StatusRequestTimeout, "request not received in time"
	}
	writeError(ctx, status, msg, "", "")
	s.unmatched.stats.requests[statusClass(status)].Add(1)
}

// zapPrintf adapts zap to fasthttp's Logger.
type zapPrintf struct{ log *zap.Logger }

func (z zapPrintf) Printf(format string, args ...any) {
	if c := z.log.Check(zap.DebugLevel, "fasthttp"); c != nil {
		c.Write(zap.String("msg", fmt.Sprintf(format, args...)))
	}
}
