package xds

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	xdstypev3 "github.com/cncf/xds/go/xds/type/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverconfig "github.com/envoyproxy/go-control-plane/pkg/server/config"
	sotw "github.com/envoyproxy/go-control-plane/pkg/server/sotw/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

const nodeID = "sidecar-1"

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testupstream.GoleakOptions...)
}

// --- the control plane: a real go-control-plane server -------------------

// wire records every request and response of the ADS streams exactly as
// they crossed the wire, before the server fills in the node of later
// requests.
type wire struct {
	mu      sync.Mutex
	streams int
	reqs    []wireReq
	resps   []wireResp
}

type wireReq struct {
	stream int
	req    *discoveryv3.DiscoveryRequest
}

type wireResp struct {
	stream int
	resp   *discoveryv3.DiscoveryResponse
}

func (w *wire) intercept(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	w.mu.Lock()
	w.streams++
	id := w.streams
	w.mu.Unlock()
	return h(srv, &recStream{ServerStream: ss, w: w, id: id})
}

type recStream struct {
	grpc.ServerStream
	w  *wire
	id int
}

func (r *recStream) RecvMsg(m any) error {
	err := r.ServerStream.RecvMsg(m)
	if req, ok := m.(*discoveryv3.DiscoveryRequest); ok && err == nil {
		r.w.mu.Lock()
		r.w.reqs = append(r.w.reqs, wireReq{r.id, proto.Clone(req).(*discoveryv3.DiscoveryRequest)})
		r.w.mu.Unlock()
	}
	return err
}

func (r *recStream) SendMsg(m any) error {
	if resp, ok := m.(*discoveryv3.DiscoveryResponse); ok {
		r.w.mu.Lock()
		r.w.resps = append(r.w.resps, wireResp{r.id, proto.Clone(resp).(*discoveryv3.DiscoveryResponse)})
		r.w.mu.Unlock()
	}
	return r.ServerStream.SendMsg(m)
}

func (w *wire) requests() []wireReq {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.reqs)
}

func (w *wire) responses() []wireResp {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.resps)
}

// hookCache is go-control-plane's snapshot cache with a hook that may
// answer a request with a hand-made response, for the malformed responses
// the snapshot cache cannot produce (duplicate names, wrong type URLs).
type hookCache struct {
	cache.SnapshotCache
	mu   sync.Mutex
	hook func(*cache.Request) *discoveryv3.DiscoveryResponse
}

func (h *hookCache) CreateWatch(req *cache.Request, sub cache.Subscription, ch chan cache.Response) (func(), error) {
	h.mu.Lock()
	hook := h.hook
	h.mu.Unlock()
	if hook != nil {
		if resp := hook(req); resp != nil {
			ch <- &cache.PassthroughResponse{Request: req, DiscoveryResponse: resp}
			return func() {}, nil
		}
	}
	return h.SnapshotCache.CreateWatch(req, sub, ch)
}

func (h *hookCache) setHook(f func(*cache.Request) *discoveryv3.DiscoveryResponse) {
	h.mu.Lock()
	h.hook = f
	h.mu.Unlock()
}

// cp is one control plane: a gRPC server with go-control-plane's ADS
// server over a snapshot cache (ADS mode, ordered).
type cp struct {
	t      *testing.T
	addr   string
	cache  *hookCache
	wire   *wire
	gs     *grpc.Server
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func startCP(t *testing.T, addr string) *cp {
	t.Helper()
	// A restarted control plane may need a moment for the port.
	lis := testutil.Listen(t, addr)
	ctx, cancel := context.WithCancel(context.Background())
	c := &cp{
		t:      t,
		addr:   lis.Addr().String(),
		cache:  &hookCache{SnapshotCache: cache.NewSnapshotCache(true, cache.IDHash{}, nil)},
		wire:   &wire{},
		cancel: cancel,
		done:   make(chan struct{}),
	}
	srv := serverv3.NewServer(ctx, c.cache, nil, serverv3Ordered())
	c.gs = grpc.NewServer(grpc.StreamInterceptor(c.wire.intercept))
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(c.gs, srv)
	go func() {
		defer close(c.done)
		_ = c.gs.Serve(lis)
	}()
	t.Cleanup(c.stop)
	return c
}

func (c *cp) stop() {
	c.once.Do(func() {
		c.cancel()
		c.gs.Stop()
		<-c.done
	})
}

// set publishes a consistent snapshot.
func (c *cp) set(t *testing.T, s *cache.Snapshot) {
	t.Helper()
	if err := s.Consistent(); err != nil {
		t.Fatalf("inconsistent snapshot: %v", err)
	}
	c.setUnchecked(t, s)
}

// setUnchecked publishes a snapshot without Consistent(), for negative
// tests.
func (c *cp) setUnchecked(t *testing.T, s *cache.Snapshot) {
	t.Helper()
	if err := c.cache.SetSnapshot(context.Background(), nodeID, s); err != nil {
		t.Fatalf("cannot set snapshot: %v", err)
	}
}

// --- resources -------------------------------------------------------------

var ads = &corev3.ConfigSource{
	ResourceApiVersion:    corev3.ApiVersion_V3,
	ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
}

// fleet describes the resources of one snapshot.
type fleet struct {
	version string
	// upstreams maps cluster names to addresses; an empty address makes
	// an EDS cluster whose ClusterLoadAssignment is missing.
	upstreams map[string]string
	arms      []armSpec
	sticky    string
	mirror    string
	mirrorPct uint32
	// ext is the driftcar ECDS document; nil leaves the resource out.
	ext map[string]any
}

func defaultFleet(version string, addrs map[string]string) fleet {
	return fleet{
		version:   version,
		upstreams: addrs,
		arms:      []armSpec{{"primary", 90}, {"canary", 10}},
		ext: map[string]any{
			"routes":         []any{map[string]any{"name": "predict", "arm_override": true}},
			"shadow_samples": map[string]any{"keep": 7},
		},
	}
}

func mustAny(t testing.TB, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func makeCluster(name string) *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 name,
		ConnectTimeout:       durationpb.New(750 * time.Millisecond),
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
		EdsClusterConfig:     &clusterv3.Cluster_EdsClusterConfig{EdsConfig: ads},
	}
}

func makeCLA(name string, addrs ...string) *endpointv3.ClusterLoadAssignment {
	var lbs []*endpointv3.LbEndpoint
	for _, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		var p uint32
		_, _ = fmt.Sscan(port, &p)
		lbs = append(lbs, &endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
			Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
				Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: p},
			}}},
		}}})
	}
	return &endpointv3.ClusterLoadAssignment{ClusterName: name, Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: lbs}}}
}

func makeListener(t testing.TB, name, routeConfig string) *listenerv3.Listener {
	t.Helper()
	hcm := &hcmv3.HttpConnectionManager{
		StatPrefix: "driftcar",
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource: ads, RouteConfigName: routeConfig,
		}},
		HttpFilters: []*hcmv3.HttpFilter{{
			Name:       "envoy.filters.http.router",
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(t, &routerv3.Router{})},
		}},
	}
	return &listenerv3.Listener{
		Name: name,
		Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
			Address: "0.0.0.0", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 8080},
		}}},
		FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
			Name:       "envoy.filters.network.http_connection_manager",
			ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(t, hcm)},
		}}}},
	}
}

func (f fleet) routeConfig() *routev3.RouteConfiguration {
	var cws []*routev3.WeightedCluster_ClusterWeight
	for _, a := range f.arms {
		cws = append(cws, &routev3.WeightedCluster_ClusterWeight{Name: a.cluster, Weight: wrapperspb.UInt32(a.weight)})
	}
	wc := &routev3.WeightedCluster{Clusters: cws}
	action := &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_WeightedClusters{WeightedClusters: wc}}
	if f.sticky != "" {
		wc.RandomValueSpecifier = &routev3.WeightedCluster_UseHashPolicy{UseHashPolicy: wrapperspb.Bool(true)}
		action.HashPolicy = []*routev3.RouteAction_HashPolicy{{PolicySpecifier: &routev3.RouteAction_HashPolicy_Header_{
			Header: &routev3.RouteAction_HashPolicy_Header{HeaderName: f.sticky},
		}}}
	}
	if f.mirror != "" {
		action.RequestMirrorPolicies = []*routev3.RouteAction_RequestMirrorPolicy{{
			Cluster: f.mirror,
			RuntimeFraction: &corev3.RuntimeFractionalPercent{DefaultValue: &typev3.FractionalPercent{
				Numerator: f.mirrorPct, Denominator: typev3.FractionalPercent_HUNDRED,
			}},
		}}
	}
	return &routev3.RouteConfiguration{Name: "ingress", VirtualHosts: []*routev3.VirtualHost{{
		Name: "all", Domains: []string{"*"},
		Routes: []*routev3.Route{{
			Name:   "predict",
			Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
			Action: &routev3.Route_Route{Route: action},
		}},
	}}}
}

func extension(t testing.TB, doc map[string]any) *corev3.TypedExtensionConfig {
	t.Helper()
	s, err := structpb.NewStruct(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &corev3.TypedExtensionConfig{
		Name:        ExtensionName,
		TypedConfig: mustAny(t, &xdstypev3.TypedStruct{TypeUrl: ConfigTypeURL, Value: s}),
	}
}

func (f fleet) resources(t testing.TB) map[resource.Type][]types.Resource {
	t.Helper()
	res := map[resource.Type][]types.Resource{
		resource.ListenerType: {makeListener(t, "driftcar", "ingress")},
		resource.RouteType:    {f.routeConfig()},
		// A type left out of a snapshot has version "", so list them
		// even when empty.
		resource.ClusterType:  {},
		resource.EndpointType: {},
	}
	names := make([]string, 0, len(f.upstreams))
	for n := range f.upstreams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		res[resource.ClusterType] = append(res[resource.ClusterType], makeCluster(n))
		if a := f.upstreams[n]; a != "" {
			res[resource.EndpointType] = append(res[resource.EndpointType], makeCLA(n, a))
		}
	}
	if f.ext != nil {
		res[resource.ExtensionConfigType] = []types.Resource{extension(t, f.ext)}
	}
	return res
}

func (f fleet) snapshot(t testing.TB) *cache.Snapshot {
	t.Helper()
	s, err := cache.NewSnapshot(f.version, f.resources(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// --- the client under test -------------------------------------------------

// applier records every config the client applies.
type applier struct {
	mu      sync.Mutex
	updates []Update
	fail    func(*config.Config) error
	then    func(*config.Config)
}

func (a *applier) apply(u Update) error {
	a.mu.Lock()
	fail, then := a.fail, a.then
	a.mu.Unlock()
	if fail != nil {
		if err := fail(u.Config); err != nil {
			return err
		}
	}
	if then != nil {
		then(u.Config)
	}
	a.mu.Lock()
	a.updates = append(a.updates, u)
	a.mu.Unlock()
	return nil
}

func (a *applier) last() (Update, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.updates) == 0 {
		return Update{}, 0
	}
	return a.updates[len(a.updates)-1], len(a.updates)
}

type harness struct {
	c    *Client
	app  *applier
	reg  *prometheus.Registry
	stop func()
}

// startClient runs a client against addr until the test ends. tweak may
// change the options.
func startClient(t *testing.T, addr string, tweak func(*Options)) *harness {
	t.Helper()
	h := &harness{app: &applier{}, reg: prometheus.NewRegistry()}
	opts := Options{
		Server:     addr,
		Node:       &corev3.Node{Id: nodeID, Cluster: "default"},
		Base:       []byte("listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nmodel: m\n"),
		Apply:      h.app.apply,
		Logger:     zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)),
		Registerer: h.reg,
		Backoff:    func(int) time.Duration { return 20 * time.Millisecond },
		NackDelay: func(n int) time.Duration {
			return min(50*time.Millisecond<<(n-1), 200*time.Millisecond)
		},
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           grpcbackoff.Config{BaseDelay: 10 * time.Millisecond, Multiplier: 1.2, MaxDelay: 50 * time.Millisecond},
			MinConnectTimeout: time.Second,
		})},
	}
	if tweak != nil {
		tweak(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(h.stop)
	return h
}

// waitFor is testutil.Eventually with this package's 10s deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, what, cond)
}

// weights returns the arms of the first route as "name=weight" strings.
func weights(cfg *config.Config) []string {
	if cfg == nil || len(cfg.Routes) == 0 {
		return nil
	}
	var out []string
	for _, a := range cfg.Routes[0].Split {
		out = append(out, fmt.Sprintf("%s=%d", a.Upstream, *a.Weight))
	}
	return out
}

func typeStatus(s Status, typ string) TypeStatus {
	for _, ts := range s.Types {
		if ts.Type == typ {
			return ts
		}
	}
	return TypeStatus{}
}

// --- a manual clock ----------------------------------------------------------

type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	d       time.Duration
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ft := &fakeTimer{at: c.now.Add(d), d: d, f: f}
	c.timers = append(c.timers, ft)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !ft.stopped
		ft.stopped = true
		return was
	}
}

// pending counts the timers of duration d that have not fired.
func (c *fakeClock) pending(d time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, ft := range c.timers {
		if !ft.stopped && ft.d == d {
			n++
		}
	}
	return n
}

// advance moves the clock and runs the timers that came due.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	for _, ft := range c.timers {
		if !ft.stopped && !ft.at.After(c.now) {
			ft.stopped = true
			due = append(due, ft)
		}
	}
	c.mu.Unlock()
	for _, ft := range due {
		go ft.f()
	}
}

func serverv3Ordered() serverconfig.XDSOption { return sotw.WithOrderedADS() }
