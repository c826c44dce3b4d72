package grpcproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/driftcar/driftcar/config"
)

// pseudoRoute labels calls that matched no route. Route names cannot start
// with "_", so it never collides.
const pseudoRoute = "_none"

// defaultMessageBytes is config's default message limit, 64MiB.
const defaultMessageBytes = 64 << 20

// Options are a Server's dependencies.
type Options struct {
	// Logger receives server errors. Default: a no-op logger.
	Logger *zap.Logger
	// Registerer receives the server's collectors. Required. A second
	// Server on the same registry shares the first one's collectors.
	Registerer prometheus.Registerer
	// Ready is the sidecar's readiness, reported by grpc.health.v1: nil
	// means SERVING. Default: always ready.
	Ready func() error
	// Rand returns a uniform integer in [0, n) for weighted arm choice. It
	// must be safe for concurrent use. Default: math/rand/v2.Uint64N.
	Rand func(n uint64) uint64
}

// Server relays gRPC calls to the routes' arms. Build it with New.
type Server struct {
	log     *zap.Logger
	metrics *metrics
	rand    func(uint64) uint64
	srv     *grpc.Server
	health  *health
	maxRecv int
	maxSend int

	table    atomic.Pointer[table]
	stopOnce sync.Once

	mu        sync.Mutex // serializes Apply; guards conns
	conns     map[connKey]*conn
	unmatched *armMetrics
}

// New builds a Server serving cfg's gRPC routes. The message limits
// (cfg.GRPC; zero means 64MiB) are fixed for the Server's life; the routes
// change with Apply.
func New(cfg *config.Config, opts Options) (*Server, error) {
	if opts.Registerer == nil {
		return nil, errors.New("grpcproxy: Options.Registerer is required")
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("cannot register grpc metrics: %w", err)
	}
	s := &Server{
		log:     opts.Logger,
		metrics: m,
		rand:    opts.Rand,
		conns:   make(map[connKey]*conn),
		maxRecv: int(cfg.GRPC.MaxRecvMessageBytes),
		maxSend: int(cfg.GRPC.MaxSendMessageBytes),
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	s.log = s.log.Named("grpc")
	if s.rand == nil {
		s.rand = rand.Uint64N
	}
	// Zero, in a config built in code, means config's default.
	if s.maxRecv <= 0 {
		s.maxRecv = defaultMessageBytes
	}
	if s.maxSend <= 0 {
		s.maxSend = defaultMessageBytes
	}
	s.unmatched = m.forArm(pseudoRoute, pseudoRoute)
	s.health = &health{ready: opts.Ready, log: s.log, poll: healthPoll, stop: make(chan struct{})}
	s.srv = grpc.NewServer(
		grpc.ForceServerCodec(codec{}),
		grpc.UnknownServiceHandler(s.handle),
		grpc.MaxRecvMsgSize(s.maxRecv),
		grpc.MaxSendMsgSize(s.maxSend),
		grpc.SharedWriteBuffer(true),
		// Calls run on a pool of goroutines instead of one new each.
		grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))),
	)
	healthpb.RegisterHealthServer(s.srv, s.health)
	if err := s.Apply(cfg, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// Apply swaps in a routing table built from cfg's routes that serve gRPC
// (config.ServesGRPC) and taps. Calls in flight finish on the previous
// table. Upstream connections whose settings did not change are kept, so
// a reload does not drop warm HTTP/2 connections. On error the previous
// table stays.
func (s *Server) Apply(cfg *config.Config, taps Taps) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	used := make(map[connKey]bool)
	conns := make(map[string]*conn)
	for name, u := range cfg.Upstreams {
		if u.GRPCAddress == "" {
			continue
		}
		k := connKey{addr: u.GRPCAddress, connectTimeout: time.Duration(u.ConnectTimeout)}
		c := s.conns[k]
		if c == nil {
			var err error
			if c, err = newConn(k, s.maxRecv, s.maxSend); err != nil {
				return fmt.Errorf("cannot apply upstream %q: %w", name, err)
			}
			s.conns[k] = c
		}
		used[k] = true
		conns[name] = c
	}

	t := &table{cfg: cfg}
	kept := make(map[[2]string]bool)
	for i := range cfg.Routes {
		rc := &cfg.Routes[i]
		if !config.ServesGRPC(rc, cfg.Upstreams) {
			continue
		}
		r := &route{
			name:        rc.Name,
			pathPrefix:  rc.Match.PathPrefix,
			fallback:    -1,
			armOverride: rc.ArmOverride,
			tap:         taps[rc.Name],
		}
		if rc.Sticky != nil && rc.Sticky.Header != "" {
			r.stickyKey = strings.ToLower(rc.Sticky.Header)
		}
		names := make([]string, len(rc.Split))
		weights := make([]int, len(rc.Split))
		for j, a := range rc.Split {
			names[j] = a.Upstream
			if a.Weight != nil {
				weights[j] = *a.Weight
			}
			r.arms = append(r.arms, &arm{
				name:    a.Upstream,
				conn:    conns[a.Upstream],
				metrics: s.metrics.forArm(rc.Name, a.Upstream),
			})
			kept[[2]string{rc.Name, a.Upstream}] = true
			if a.Upstream == rc.Fallback {
				r.fallback = j
			}
		}
		r.choose = newChooser(names, weights)
		t.routes = append(t.routes, r)
	}

	if old := s.table.Swap(t); old != nil {
		for _, r := range old.routes {
			for _, a := range r.arms {
				if !kept[[2]string{r.name, a.name}] {
					s.metrics.forget(r.name, a.name)
				}
			}
		}
	}
	for k, c := range s.conns {
		if !used[k] {
			// Calls still on the old table fail with Canceled; new ones
			// never see this conn.
			if err := c.cc.Close(); err != nil {
				s.log.Warn("cannot close upstream connection", zap.String("address", k.addr), zap.Error(err))
			}
			delete(s.conns, k)
		}
	}
	return nil
}

// Config returns the config of the table now serving.
func (s *Server) Config() *config.Config { return s.table.Load().cfg }

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.srv.Serve(ln); err != nil {
		return fmt.Errorf("cannot serve grpc on %s: %w", ln.Addr(), err)
	}
	return nil
}

// Shutdown stops accepting, waits for calls in flight until ctx ends,
// then closes the remaining ones and the upstream connections. Health
// watches end at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.health.stop) })
	done := make(chan struct{})
	go func() {
		s.srv.GracefulStop()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.srv.Stop()
		<-done
		err = fmt.Errorf("cannot drain grpc calls: %w", ctx.Err())
	}
	s.mu.Lock()
	for k, c := range s.conns {
		_ = c.cc.Close()
		delete(s.conns, k)
	}
	s.mu.Unlock()
	return err
}

// handle relays one call of a method this server does not serve itself.
func (s *Server) handle(_ any, ss grpc.ServerStream) error {
	start := time.Now()
	method, _ := grpc.MethodFromServerStream(ss)
	r := s.table.Load().match(method)
	if r == nil {
		s.unmatched.observe(codes.Unimplemented, time.Since(start))
		return status.Errorf(codes.Unimplemented, "driftcar: unknown method %s: no route matches it", method)
	}
	md, _ := metadata.FromIncomingContext(ss.Context())
	i := r.pick(md, s.rand)
	a := r.arms[i]
	ctx, cancel := context.WithCancel(metadata.NewOutgoingContext(ss.Context(), md))
	defer cancel()

	c := call{}
	var err error
	if unaryMethods[method] {
		a, err = c.unary(ctx, ss, r, i, method)
	} else {
		var cs grpc.ClientStream
		cs, err = a.open(ctx, method)
		if err != nil && neverSent(err) && r.fallback >= 0 && r.fallback != i && ctx.Err() == nil {
			a.metrics.fallback.Inc()
			a = r.arms[r.fallback]
			cs, err = a.open(ctx, method)
		}
		if err == nil {
			err = c.relay(ss, cs, cancel, r, a)
		} else if ctxErr := ss.Context().Err(); ctxErr != nil {
			err = status.FromContextError(ctxErr).Err()
		} else {
			err = armStatus(r.name, a.name, err)
		}
	}
	code := status.Code(err)
	if code == codes.Canceled && pastDeadline(ss.Context()) {
		// A client whose deadline passed resets the stream, and the reset
		// may beat the server's own timer: the call timed out.
		code, err = codes.DeadlineExceeded, status.FromContextError(context.DeadlineExceeded).Err()
	}
	if r.tap != nil {
		tc := Call{
			Route: r.name, Arm: a.name, Method: method, Metadata: md,
			Requests: int(c.requests.Load()), Responses: c.responses, Code: code,
		}
		if f := c.req.Load(); f != nil {
			tc.Request = f.b
		}
		if c.resp != nil {
			tc.Response = c.resp.b
		}
		r.tap.Call(&tc)
	}
	a.metrics.observe(code, time.Since(start))
	return err
}

// deadlineSlack is how close to its deadline a client's reset counts as
// the deadline: the server's deadline is the client's plus the time the
// call took to arrive, so the client's reset can come slightly before it.
const deadlineSlack = 50 * time.Millisecond

// pastDeadline reports whether ctx's deadline has passed, or nearly.
func pastDeadline(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < deadlineSlack
}

// unaryMethods are the Open Inference Protocol's unary methods: the relay
// forwards them with one receive and one upstream Invoke, no goroutine of
// their own. Every other method is relayed as a stream.
var unaryMethods = map[string]bool{
	"/inference.GRPCInferenceService/ServerLive":     true,
	"/inference.GRPCInferenceService/ServerReady":    true,
	"/inference.GRPCInferenceService/ModelReady":     true,
	"/inference.GRPCInferenceService/ServerMetadata": true,
	"/inference.GRPCInferenceService/ModelMetadata":  true,
	"/inference.GRPCInferenceService/ModelInfer":     true,
}

// unary relays a unary call on arm i of r, or on the fallback arm when
// the call never reached it, and returns the arm that served it.
func (c *call) unary(ctx context.Context, ss grpc.ServerStream, r *route, i int, method string) (*arm, error) {
	a := r.arms[i]
	req := new(Frame)
	if err := ss.RecvMsg(req); err != nil {
		return a, err // too large, or the client is gone
	}
	c.requests.Store(1)
	c.req.Store(req)
	var header, trailer metadata.MD
	resp := new(Frame)
	err := a.invoke(ctx, method, req, resp, &header, &trailer)
	if err != nil && neverSent(err) && local(err) && r.fallback >= 0 && r.fallback != i && ctx.Err() == nil {
		a.metrics.fallback.Inc()
		a = r.arms[r.fallback]
		header, trailer = nil, nil
		err = a.invoke(ctx, method, req, resp, &header, &trailer)
	}
	if len(header) > 0 {
		if herr := ss.SendHeader(header); herr != nil {
			return a, herr
		}
	}
	if len(trailer) > 0 {
		ss.SetTrailer(trailer)
	}
	switch {
	case err == nil:
		c.responses, c.resp = 1, resp
		return a, ss.SendMsg(resp)
	case ss.Context().Err() != nil:
		return a, status.FromContextError(ss.Context().Err()).Err()
	case local(err) || errors.Is(err, ErrNoGRPCAddress):
		return a, armStatus(r.name, a.name, err)
	}
	return a, err // the upstream's own status
}

// invoke makes a unary call to a's upstream.
func (a *arm) invoke(ctx context.Context, method string, req, resp *Frame, header, trailer *metadata.MD) error {
	if a.conn == nil {
		return ErrNoGRPCAddress
	}
	return a.conn.cc.Invoke(ctx, method, req, resp, grpc.Header(header), grpc.Trailer(trailer))
}

// open opens the upstream half of a call on a.
func (a *arm) open(ctx context.Context, method string) (grpc.ClientStream, error) {
	if a.conn == nil {
		return nil, ErrNoGRPCAddress
	}
	return a.conn.newStream(ctx, method)
}

// call is the state of one relayed call.
type call struct {
	req       atomic.Pointer[Frame] // the first request, set by the sender
	requests  atomic.Int64
	sendErr   atomic.Pointer[error] // the sender's failure
	resp      *Frame                // the first response
	responses int
}

// relay copies messages both ways until the upstream ends the call, and
// returns the status for the client. The client's messages go upstream on
// a goroutine of their own; the upstream's come back on this one.
func (c *call) relay(ss grpc.ServerStream, cs grpc.ClientStream, cancel context.CancelFunc, r *route, a *arm) error {
	go c.send(ss, cs, cancel, r, a)

	if h, err := cs.Header(); err == nil && len(h) > 0 {
		if err := ss.SendHeader(h); err != nil {
			cancel()
			return err
		}
	}
	f := new(Frame)
	for {
		err := cs.RecvMsg(f)
		if err != nil {
			if t := cs.Trailer(); len(t) > 0 {
				ss.SetTrailer(t)
			}
			if e := c.sendErr.Load(); e != nil {
				return *e
			}
			switch {
			case errors.Is(err, io.EOF):
				return nil
			case local(err):
				return armStatus(r.name, a.name, err)
			}
			return err
		}
		c.responses++
		if c.resp == nil {
			c.resp = f
		}
		if err := ss.SendMsg(f); err != nil {
			cancel()
			return err
		}
		f = new(Frame) // f belongs to grpc-go and the tap now
	}
}

// send copies the client's messages upstream and half-closes after the
// last. A failure cancels the upstream call and is kept for relay.
func (c *call) send(ss grpc.ServerStream, cs grpc.ClientStream, cancel context.CancelFunc, r *route, a *arm) {
	f := new(Frame)
	for {
		if err := ss.RecvMsg(f); err != nil {
			if errors.Is(err, io.EOF) {
				_ = cs.CloseSend()
				return
			}
			c.sendErr.Store(&err) // too large, or the client is gone
			cancel()
			return
		}
		if c.requests.Add(1) == 1 {
			c.req.Store(f)
		}
		if err := cs.SendMsg(f); err != nil {
			if !errors.Is(err, io.EOF) { // io.EOF: the upstream ended; relay reads its status
				e := armStatus(r.name, a.name, err)
				c.sendErr.Store(&e)
				cancel()
			}
			return
		}
		f = new(Frame)
	}
}
