package grpcproxy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"

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
	maxRecv int
	maxSend int

	// grpc.health.v1 runs on a grpc-go server of its own, reached through
	// an in-memory connection like any upstream.
	health      *health
	healthSrv   *grpc.Server
	healthLis   *bufconn.Listener
	healthRoute *route

	table     atomic.Pointer[table]
	unmatched *armMetrics
	stopOnce  sync.Once

	mu        sync.Mutex // serializes Apply; guards the fields below
	backends  map[connKey]*backend
	listeners map[net.Listener]bool
	fronts    map[*frontConn]bool
	closing   bool
	serving   sync.WaitGroup // front connections
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
		log:       opts.Logger,
		metrics:   m,
		rand:      opts.Rand,
		backends:  make(map[connKey]*backend),
		listeners: make(map[net.Listener]bool),
		fronts:    make(map[*frontConn]bool),
		maxRecv:   int(cfg.GRPC.MaxRecvMessageBytes),
		maxSend:   int(cfg.GRPC.MaxSendMessageBytes),
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
	s.startHealth(opts.Ready)
	if err := s.Apply(cfg, nil); err != nil {
		s.stopHealth()
		return nil, err
	}
	return s, nil
}

// startHealth serves grpc.health.v1 in memory and routes its calls there.
func (s *Server) startHealth(ready func() error) {
	s.health = &health{ready: ready, log: s.log, poll: healthPoll, stop: make(chan struct{})}
	s.healthSrv = grpc.NewServer()
	healthpb.RegisterHealthServer(s.healthSrv, s.health)
	s.healthLis = bufconn.Listen(256 << 10)
	go func() { _ = s.healthSrv.Serve(s.healthLis) }()
	be := newBackend(connKey{addr: "driftcar-health"}, s.log)
	be.dial = func(ctx context.Context, _ string) (net.Conn, error) { return s.healthLis.DialContext(ctx) }
	s.healthRoute = &route{name: "_health", fallback: -1, arms: []*arm{{name: "_health", backend: be}}}
}

func (s *Server) stopHealth() {
	s.stopOnce.Do(func() { close(s.health.stop) })
	s.healthRoute.arms[0].backend.close()
	s.healthSrv.Stop()
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
	backends := make(map[string]*backend)
	for name, u := range cfg.Upstreams {
		if u.GRPCAddress == "" {
			continue
		}
		k := connKey{addr: u.GRPCAddress, connectTimeout: time.Duration(u.ConnectTimeout)}
		be := s.backends[k]
		if be == nil {
			be = newBackend(k, s.log)
			s.backends[k] = be
		}
		used[k] = true
		backends[name] = be
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
				backend: backends[a.Upstream],
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
	for k, be := range s.backends {
		if !used[k] {
			// Calls still on the old table fail with Unavailable; new ones
			// never see this backend.
			go be.close()
			delete(s.backends, k)
		}
	}
	return nil
}

// Config returns the config of the table now serving.
func (s *Server) Config() *config.Config { return s.table.Load().cfg }

// Serve accepts connections on ln until Shutdown, and then returns nil.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.listeners[ln] = true
	s.mu.Unlock()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return nil
			}
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
				delay = min(max(5*time.Millisecond, 2*delay), time.Second)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("cannot serve grpc on %s: %w", ln.Addr(), err)
		}
		delay = 0
		go s.serveFront(nc)
	}
}

func (s *Server) addFront(fc *frontConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.fronts[fc] = true
	s.serving.Add(1)
	return true
}

func (s *Server) removeFront(fc *frontConn) {
	s.mu.Lock()
	delete(s.fronts, fc)
	s.mu.Unlock()
	s.serving.Done()
}

// Shutdown stops accepting, sends every client GOAWAY, waits for calls
// in flight until ctx ends, then closes the remaining ones and the
// upstream connections. Health watches end at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.health.stop) })
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		_ = ln.Close()
	}
	fronts := make([]*frontConn, 0, len(s.fronts))
	for fc := range s.fronts {
		fronts = append(fronts, fc)
	}
	s.mu.Unlock()

	var err error
	for _, fc := range fronts {
		select {
		case <-fc.drain():
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("cannot drain grpc calls: %w", ctx.Err())
			}
		}
		fc.flush()
		_ = fc.nc.Close()
	}
	s.serving.Wait()

	s.mu.Lock()
	for k, be := range s.backends {
		be.close()
		delete(s.backends, k)
	}
	s.mu.Unlock()
	s.stopHealth()
	return err
}

// deadlineSlack is how close to its deadline a client's reset counts as
// the deadline: the server's deadline is the client's plus the time the
// call took to arrive, so the client's reset can come slightly before it.
const deadlineSlack = 50 * time.Millisecond

// nearDeadline reports whether deadline, if set, has passed or nearly.
func nearDeadline(deadline time.Time) bool {
	return !deadline.IsZero() && time.Until(deadline) < deadlineSlack
}
