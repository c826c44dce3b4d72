package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/sotw/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Defaults of Options.
const (
	DefaultListen = ":18000"
	DefaultAdmin  = ":18001"
	// pollFallback is the rescan period without fsnotify.
	pollFallback = 250 * time.Millisecond
	// resyncPeriod rescans even with fsnotify, in case an event was lost.
	resyncPeriod = 2 * time.Second
	// debounce gathers the events of one edit into one rescan.
	debounce = 50 * time.Millisecond
)

// Options configure a Server.
type Options struct {
	// Listen is the gRPC (ADS) address. Default ":18000".
	Listen string
	// Admin is the HTTP address of /metrics, /healthz and /api/files.
	// Default ":18001".
	Admin string
	// Dir holds one YAML file per node id or node cluster, named
	// <id>.yaml or <cluster>.yaml (or .yml). Required.
	Dir string
	// Logger receives file, stream and NACK events. Default: no-op.
	Logger *zap.Logger
	// Registry receives the driftcar_controlplane_* metrics and is served
	// on /metrics. Default: a new registry.
	Registry *prometheus.Registry
	// PollInterval, when set, replaces directory events with a rescan
	// every interval. Default: fsnotify events, or a rescan every 250ms
	// where fsnotify cannot watch the directory.
	PollInterval time.Duration
}

// Server serves the files of a directory to sidecars over ADS.
type Server struct {
	opts    Options
	log     *zap.Logger
	metrics *metrics
	cache   cache.SnapshotCache
	grpc    *grpc.Server
	http    *http.Server
	lis     net.Listener
	adminLn net.Listener
	xdsCtx  context.Context
	stopXDS context.CancelFunc

	mu      sync.Mutex
	files   map[string]*fileState // by file stem
	nodes   map[string]*nodeState // by node id
	streams map[int64]string      // stream id -> node id
	served  map[string]*Resources // node id -> resources set
	scanErr error
}

type fileState struct {
	name string
	hash [32]byte
	res  *Resources // last good; nil if the file never was valid
	err  error      // of the current content
}

type nodeState struct {
	cluster string
	streams int
}

// FileStatus describes one file of the directory.
type FileStatus struct {
	File string `json:"file"`
	// Version is the version of the snapshot served from the file's last
	// valid content ("" if it never was valid).
	Version string `json:"version"`
	// Error is the problem with the current content; while it is set,
	// the last valid content is served.
	Error string `json:"error,omitempty"`
}

// New binds both listeners and loads the directory once; invalid files are
// reported and skipped.
func New(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("controlplane: Options.Dir is required")
	}
	if st, err := os.Stat(opts.Dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("controlplane: %q is not a directory", opts.Dir)
	}
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.Admin == "" {
		opts.Admin = DefaultAdmin
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	s := &Server{
		opts:    opts,
		log:     opts.Logger,
		metrics: newMetrics(opts.Registry),
		cache:   cache.NewSnapshotCache(true, cache.IDHash{}, zapLogger{opts.Logger.Named("cache")}),
		files:   map[string]*fileState{},
		nodes:   map[string]*nodeState{},
		streams: map[int64]string{},
		served:  map[string]*Resources{},
	}
	s.xdsCtx, s.stopXDS = context.WithCancel(context.Background())
	callbacks := serverv3.CallbackFuncs{
		StreamRequestFunc: s.onRequest,
		StreamClosedFunc:  s.onClosed,
	}
	xdsServer := serverv3.NewServer(s.xdsCtx, s.cache, callbacks, sotw.WithOrderedADS())
	s.grpc = grpc.NewServer(
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 30 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 5 * time.Second}),
	)
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(s.grpc, xdsServer)

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/api/files", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Files())
	})
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}

	s.rescan()
	var err error
	if s.lis, err = net.Listen("tcp", opts.Listen); err != nil {
		s.stopXDS()
		return nil, fmt.Errorf("cannot listen on %s: %w", opts.Listen, err)
	}
	if s.adminLn, err = net.Listen("tcp", opts.Admin); err != nil {
		s.stopXDS()
		_ = s.lis.Close()
		return nil, fmt.Errorf("cannot listen on %s (admin): %w", opts.Admin, err)
	}
	return s, nil
}

// Run serves opts until ctx ends: the lead's entry point for
// "driftcar controlplane".
func Run(ctx context.Context, opts Options) error {
	s, err := New(opts)
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}

// Addr is the bound gRPC address.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// AdminAddr is the bound HTTP address.
func (s *Server) AdminAddr() string { return s.adminLn.Addr().String() }

// Serve serves ADS and the admin endpoints and watches the directory until
// ctx ends, then stops. Call it once.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- s.grpc.Serve(s.lis) }()
	go func() {
		if err := s.http.Serve(s.adminLn); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
			return
		}
		errc <- nil
	}()
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		s.watch(watchCtx)
	}()
	s.log.Info("control plane serving", zap.String("listen", s.Addr()), zap.String("admin", s.AdminAddr()), zap.String("dir", s.opts.Dir))

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stopWatch()
	<-watchDone
	// Ending the xDS context ends every ADS stream, so GracefulStop
	// does not wait on them.
	s.stopXDS()
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		s.grpc.Stop()
		<-stopped
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return errors.Join(err, s.http.Shutdown(sctx))
}

// watch rescans the directory on fsnotify events, and periodically.
func (s *Server) watch(ctx context.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("directory watcher panicked", zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
		}
	}()
	period := s.opts.PollInterval
	var events <-chan fsnotify.Event
	var errs <-chan error
	if period <= 0 {
		period = resyncPeriod
		w, err := fsnotify.NewWatcher()
		if err == nil {
			err = w.Add(s.opts.Dir)
		}
		if err != nil {
			s.log.Warn("cannot watch the directory; polling it", zap.Error(err), zap.Duration("interval", pollFallback))
			period = pollFallback
			if w != nil {
				_ = w.Close()
			}
		} else {
			defer func() { _ = w.Close() }()
			events, errs = w.Events, w.Errors
		}
	}
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	var settle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			s.rescan()
		case <-events:
			if settle == nil {
				settle = time.After(debounce)
			}
		case err := <-errs:
			s.log.Warn("directory watch error", zap.Error(err))
		case <-settle:
			settle = nil
			s.rescan()
		}
	}
}

// isConfigFile reports whether name is a YAML file the server serves.
func isConfigFile(name string) (stem string, ok bool) {
	if strings.HasPrefix(name, ".") {
		return "", false
	}
	for _, ext := range []string{".yaml", ".yml"} {
		if stem, ok := strings.CutSuffix(name, ext); ok && stem != "" {
			return stem, true
		}
	}
	return "", false
}

// rescan reads the directory, translates changed files and pushes new
// snapshots to the nodes they serve.
func (s *Server) rescan() {
	entries, err := os.ReadDir(s.opts.Dir)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.scanErr == nil {
			s.log.Error("cannot read the directory; serving the last files read", zap.String("dir", s.opts.Dir), zap.Error(err))
		}
		s.scanErr = err
		return
	}
	s.scanErr = nil
	seen := map[string]bool{}
	for _, e := range entries {
		stem, ok := isConfigFile(e.Name())
		if !ok {
			continue
		}
		path := filepath.Join(s.opts.Dir, e.Name())
		if st, err := os.Stat(path); err != nil || st.IsDir() {
			continue
		}
		if seen[stem] {
			s.fileError(stem, e.Name(), fmt.Errorf("%s: another file also configures %q", e.Name(), stem), nil)
			continue
		}
		seen[stem] = true
		data, err := os.ReadFile(path)
		if err != nil {
			s.fileError(stem, e.Name(), fmt.Errorf("cannot read %s: %w", e.Name(), err), nil)
			continue
		}
		s.load(stem, e.Name(), data)
	}
	for stem := range s.files {
		if !seen[stem] {
			s.log.Info("config file removed", zap.String("file", s.files[stem].name))
			delete(s.files, stem)
			s.metrics.fileValid.DeleteLabelValues(stem)
		}
	}
	s.metrics.files.Set(float64(len(s.files)))
	for id := range s.nodes {
		s.push(id)
	}
}

// load translates one file's content if it changed. Callers hold s.mu.
func (s *Server) load(stem, name string, data []byte) {
	hash := sha256Sum(data)
	f := s.files[stem]
	if f != nil && f.hash == hash {
		return
	}
	if f == nil {
		f = &fileState{name: name}
		s.files[stem] = f
	}
	f.hash, f.name = hash, name
	res, err := Translate(data)
	if err != nil {
		s.fileError(stem, name, err, f)
		return
	}
	f.res, f.err = res, nil
	s.metrics.fileValid.WithLabelValues(stem).Set(1)
	s.log.Info("config file loaded", zap.String("file", name), zap.String("version", res.Version))
}

func (s *Server) fileError(stem, name string, err error, f *fileState) {
	if f == nil {
		if f = s.files[stem]; f == nil {
			f = &fileState{name: name}
			s.files[stem] = f
		}
	}
	f.err = err
	s.metrics.fileErrors.Inc()
	s.metrics.fileValid.WithLabelValues(stem).Set(0)
	kept := "none (the file never was valid)"
	if f.res != nil {
		kept = f.res.Version
	}
	s.log.Error("invalid config file; keeping its last valid snapshot",
		zap.String("file", name), zap.String("serving_version", kept), zap.Error(err))
}

// resolve returns the resources for a node: its id's file, else its
// cluster's. Callers hold s.mu.
func (s *Server) resolve(id string) *Resources {
	n := s.nodes[id]
	if f := s.files[id]; f != nil {
		return f.res
	}
	if n != nil && n.cluster != "" {
		if f := s.files[n.cluster]; f != nil {
			return f.res
		}
	}
	return nil
}

// push sets the node's snapshot if what it should get changed. Callers
// hold s.mu.
func (s *Server) push(id string) {
	res := s.resolve(id)
	if res == nil || s.served[id] == res {
		return
	}
	snap, err := res.Snapshot()
	if err == nil {
		err = snap.Consistent()
	}
	if err == nil {
		err = s.cache.SetSnapshot(context.Background(), id, snap)
	}
	if err != nil {
		s.log.Error("cannot set a snapshot", zap.String("node", id), zap.Error(err))
		return
	}
	s.served[id] = res
	s.metrics.snapshots.Inc()
	s.log.Info("snapshot set", zap.String("node", id), zap.String("version", res.Version))
}

// onRequest registers a new stream's node and serves it before the server
// opens the first watch; it logs and counts NACKs.
func (s *Server) onRequest(streamID int64, req *discoveryv3.DiscoveryRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := req.GetNode().GetId()
	if _, known := s.streams[streamID]; !known {
		if id == "" {
			return errors.New("controlplane: the first request of a stream must carry a node with an id")
		}
		s.streams[streamID] = id
		n := s.nodes[id]
		if n == nil {
			n = &nodeState{}
			s.nodes[id] = n
		}
		n.streams++
		n.cluster = req.GetNode().GetCluster()
		s.metrics.nodes.Set(float64(len(s.nodes)))
		s.log.Info("sidecar connected", zap.String("node", id), zap.String("cluster", n.cluster), zap.Int64("stream", streamID))
		s.push(id)
		if s.resolve(id) == nil {
			s.log.Warn("no config file for the sidecar", zap.String("node", id), zap.String("cluster", n.cluster),
				zap.Strings("files", slices.Sorted(maps.Keys(s.files))))
		}
	}
	if d := req.GetErrorDetail(); d != nil {
		s.metrics.nacks.WithLabelValues(typeLabel(req.GetTypeUrl())).Inc()
		s.log.Warn("sidecar rejected an update",
			zap.String("node", s.streams[streamID]), zap.String("type", req.GetTypeUrl()),
			zap.String("kept_version", req.GetVersionInfo()), zap.String("error", d.GetMessage()))
	}
	return nil
}

func (s *Server) onClosed(streamID int64, _ *corev3.Node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.streams[streamID]
	if !ok {
		return
	}
	delete(s.streams, streamID)
	if n := s.nodes[id]; n != nil {
		n.streams--
		if n.streams <= 0 {
			delete(s.nodes, id)
			delete(s.served, id)
			s.cache.ClearSnapshot(id)
		}
	}
	s.metrics.nodes.Set(float64(len(s.nodes)))
	s.log.Info("sidecar disconnected", zap.String("node", id), zap.Int64("stream", streamID))
}

// Files reports the state of every file, sorted by name. It is safe to
// call concurrently.
func (s *Server) Files() []FileStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []FileStatus
	for _, f := range s.files {
		fs := FileStatus{File: f.name}
		if f.res != nil {
			fs.Version = f.res.Version
		}
		if f.err != nil {
			fs.Error = f.err.Error()
		}
		out = append(out, fs)
	}
	slices.SortFunc(out, func(a, b FileStatus) int { return strings.Compare(a.File, b.File) })
	return out
}
