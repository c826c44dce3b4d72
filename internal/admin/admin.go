package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Options are the admin server's data sources.
type Options struct {
	Logger *zap.Logger
	// Gatherer is served at /metrics. Required.
	Gatherer prometheus.Gatherer
	// Ready returns nil when the sidecar can take traffic, else the reason
	// it cannot. Required.
	Ready func() error
	// Detail, when set, returns lines /readyz adds after its verdict:
	// trouble that does not stop the sidecar from serving (a sink down).
	Detail func() []string
	// Config returns the effective config as JSON. Required.
	Config func() []byte
	// APIs maps a path under /api/ (e.g. "shadow/mismatches") to a
	// function whose result is served as JSON.
	APIs map[string]func() any
	// Handlers are more routes by ServeMux pattern, e.g.
	// "POST /api/v1/feedback"; those under /api need Token as well.
	Handlers map[string]http.Handler
	// Pprof mounts /debug/pprof. Default off.
	Pprof bool
	// Token, when set, is required as a bearer token by /api and /debug.
	Token string
	// UI, when set, serves the built-in web page at / and /ui (assets
	// under /ui/).
	UI http.Handler
}

// Server is the admin HTTP server.
type Server struct {
	srv *http.Server
}

// New builds an admin server; call Serve to start it.
func New(opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
		ErrorLog:            zapErrorLog{log},
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := opts.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
		if opts.Detail != nil {
			for _, line := range opts.Detail() {
				_, _ = fmt.Fprintf(w, "%s\n", line)
			}
		}
	})
	mux.HandleFunc("GET /api/config", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(opts.Config())
	})
	for path, get := range opts.APIs {
		mux.HandleFunc("GET /api/"+path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			if err := enc.Encode(get()); err != nil {
				log.Warn("cannot encode API response", zap.String("path", path), zap.Error(err))
			}
		})
	}
	for pattern, h := range opts.Handlers {
		mux.Handle(pattern, h)
	}
	if opts.UI != nil {
		mux.Handle("GET /{$}", opts.UI)
		mux.Handle("GET /ui", opts.UI)
		mux.Handle("GET /ui/", opts.UI)
	}
	if opts.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	var handler http.Handler = mux
	if opts.Token != "" {
		handler = requireToken(opts.Token, mux)
	}
	return &Server{srv: &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          zap.NewStdLog(log.Named("admin")),
	}}
}

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("cannot serve admin on %s: %w", ln.Addr(), err)
	}
	return nil
}

// Shutdown stops the server, waiting for active requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("cannot stop admin server: %w", err)
	}
	return nil
}

type zapErrorLog struct{ log *zap.Logger }

func (z zapErrorLog) Println(v ...any) { z.log.Warn("metrics", zap.String("error", fmt.Sprint(v...))) }

// requireToken guards /api and /debug with a bearer token; /metrics and
// the probes stay open for Prometheus and the kubelet.
func requireToken(token string, next http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/debug/") {
			got := []byte(r.Header.Get("Authorization"))
			if subtle.ConstantTimeCompare(got, want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="driftcar"`)
				http.Error(w, "unauthorized: this endpoint needs Authorization: Bearer <admin_token>", http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
