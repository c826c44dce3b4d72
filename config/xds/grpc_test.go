package xds

import (
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/driftcar/driftcar/config"
)

const inferPrefix = "/inference.GRPCInferenceService/"

// withProtocol sets a cluster's HttpProtocolOptions to opts, the way a
// gRPC cluster is declared to Envoy.
func withProtocol(t testing.TB, c *clusterv3.Cluster, opts *httpv3.HttpProtocolOptions) *clusterv3.Cluster {
	t.Helper()
	c.TypedExtensionProtocolOptions = map[string]*anypb.Any{"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": mustAny(t, opts)}
	return c
}

func explicitHTTP2() *httpv3.HttpProtocolOptions {
	return &httpv3.HttpProtocolOptions{UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
		ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &corev3.Http2ProtocolOptions{}}}}}
}

func explicitHTTP2With(h2 *corev3.Http2ProtocolOptions) *httpv3.HttpProtocolOptions {
	return &httpv3.HttpProtocolOptions{UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
		ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: h2}}}}
}

func TestDecodeClusterProtocols(t *testing.T) {
	cases := []struct {
		name    string
		opts    *httpv3.HttpProtocolOptions
		h2      bool
		wantErr string
	}{
		{"explicit http2", explicitHTTP2(), true, ""},
		{"explicit http1", &httpv3.HttpProtocolOptions{UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{HttpProtocolOptions: &corev3.Http1ProtocolOptions{}}}}}, false, ""},
		{"downstream with http2", &httpv3.HttpProtocolOptions{UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_UseDownstreamProtocolConfig{
			UseDownstreamProtocolConfig: &httpv3.HttpProtocolOptions_UseDownstreamHttpConfig{Http2ProtocolOptions: &corev3.Http2ProtocolOptions{}}}}, true, ""},
		{"auto config", &httpv3.HttpProtocolOptions{UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_AutoConfig{AutoConfig: &httpv3.HttpProtocolOptions_AutoHttpConfig{}}}, false, ""},
		{"explicit http3", &httpv3.HttpProtocolOptions{UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http3ProtocolOptions{Http3ProtocolOptions: &corev3.Http3ProtocolOptions{}}}}}, false, "HTTP/3 upstreams are not supported"},
		{"downstream with http3", &httpv3.HttpProtocolOptions{UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_UseDownstreamProtocolConfig{
			UseDownstreamProtocolConfig: &httpv3.HttpProtocolOptions_UseDownstreamHttpConfig{Http3ProtocolOptions: &corev3.Http3ProtocolOptions{}}}}, false, "HTTP/3 upstreams are not supported"},
		// Istio sends codec tuning; driftcar keeps grpc-go's defaults.
		{"http2 tuning", explicitHTTP2With(&corev3.Http2ProtocolOptions{MaxConcurrentStreams: wrapperspb.UInt32(100), InitialStreamWindowSize: wrapperspb.UInt32(1 << 20)}), true, ""},
		{"http2 extended CONNECT", explicitHTTP2With(&corev3.Http2ProtocolOptions{AllowConnect: true}), false, "allow_connect: not supported"},
		{"http2 METADATA frames", explicitHTTP2With(&corev3.Http2ProtocolOptions{AllowMetadata: true}), false, "allow_metadata: not supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeCluster(withProtocol(t, makeCluster("live"), tc.opts))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v; want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got.http2 != tc.h2 {
				t.Errorf("got %+v, %v; want http2 %v", got, err, tc.h2)
			}
		})
	}
	plain, err := decodeCluster(makeCluster("plain"))
	if err != nil || plain.http2 {
		t.Errorf("a cluster without protocol options: got %+v, %v; want HTTP/1", plain, err)
	}
}

func TestDecodeGRPCRoute(t *testing.T) {
	action := &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: "live"}}}
	grpcOnly := func(prefix string) *routev3.RouteMatch {
		return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: prefix}, Grpc: &routev3.RouteMatch_GrpcRouteMatchOptions{}}
	}
	got, err := decodeRoute("infer", &routev3.Route{Match: grpcOnly(inferPrefix), Action: action})
	if err != nil || got.prefix != inferPrefix {
		t.Errorf("a gRPC method prefix with match.grpc: got %+v, %v", got, err)
	}
	if got, err := decodeRoute("infer", &routev3.Route{Match: prefixMatch(inferPrefix), Action: action}); err != nil || got.prefix != inferPrefix {
		t.Errorf("a gRPC method prefix: got %+v, %v", got, err)
	}
	if _, err := decodeRoute("r", &routev3.Route{Match: grpcOnly("/"), Action: action}); err == nil || !strings.Contains(err.Error(), "match.grpc needs a prefix naming a gRPC service") {
		t.Errorf("match.grpc on /: got %v; want a NACK", err)
	}
}

func TestBuildGRPCUpstreams(t *testing.T) {
	base, err := parseBase([]byte("listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\ngrpc_listen: 127.0.0.1:0\nupstreams:\n  rest: {address: 10.9.9.9:1, grpc_address: 10.9.9.9:2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	clusters := []*clusterRes{
		{name: "live", inline: []string{"10.0.0.1:9000", "10.0.0.2:9000"}, http2: true},
		{name: "shadow", inline: []string{"10.0.0.5:9000"}, http2: true},
		{name: "rest", inline: []string{"10.0.0.9:8080"}},
	}
	routes := []routeSpec{
		{name: "infer", prefix: inferPrefix, arms: []armSpec{{"live", 9}, {"canary", 1}}, mirror: &mirrorSpec{"shadow", 1}},
		{name: "predict", prefix: "/", arms: []armSpec{{"rest", 1}}},
	}
	cfg, notes, err := build(base, stateOf(clusters, nil, routes, nil), ExtensionName)
	if err != nil {
		t.Fatal(err)
	}
	live, shadow, rest := cfg.Upstreams["live"], cfg.Upstreams["shadow"], cfg.Upstreams["rest"]
	if live.GRPCAddress != "10.0.0.1:9000" || live.Address != "10.0.0.1:9000" || shadow.GRPCAddress != "10.0.0.5:9000" {
		t.Errorf("got live %+v, shadow %+v; want the best endpoint as grpc_address", live, shadow)
	}
	if rest.GRPCAddress != "" {
		t.Errorf("got rest grpc_address %q; want none: an HTTP/1 cluster, whatever the template says", rest.GRPCAddress)
	}
	if !config.ServesGRPC(&cfg.Routes[0], cfg.Upstreams) || config.ServesGRPC(&cfg.Routes[1], cfg.Upstreams) {
		t.Errorf("infer should serve gRPC and predict not")
	}
	if cfg.Routes[0].Shadow == nil || cfg.Routes[0].Shadow.Upstream != "shadow" {
		t.Errorf("got shadow %+v; want the mirror cluster", cfg.Routes[0].Shadow)
	}
	// canary has not arrived: its arm is pending, as over HTTP.
	if _, ok := cfg.Upstreams["canary"]; ok || len(notes) != 1 || !strings.Contains(notes[0], `cluster "canary" not known`) {
		t.Errorf("got canary %v, notes %q; want it pending", cfg.Upstreams["canary"], notes)
	}

	// A gRPC route over an HTTP/1 cluster cannot be served: an error,
	// which the client NACKs.
	clusters[0].http2 = false
	if _, _, err := build(base, stateOf(clusters, nil, routes, nil), ExtensionName); err == nil || !strings.Contains(err.Error(), `upstream "live" has no grpc_address, but route "infer" serves gRPC`) {
		t.Errorf("got %v; want the missing grpc_address", err)
	}
}

// grpcResources is a snapshot's resources for a gRPC inference route over
// HTTP/2 clusters, mirrored to an HTTP/2 shadow, beside an HTTP route.
func grpcResources(t *testing.T, liveOpts *httpv3.HttpProtocolOptions) map[resource.Type][]types.Resource {
	t.Helper()
	mirror := &routev3.RouteAction_RequestMirrorPolicy{Cluster: "shadow", RuntimeFraction: &corev3.RuntimeFractionalPercent{
		DefaultValue: &typev3.FractionalPercent{Numerator: 25, Denominator: typev3.FractionalPercent_HUNDRED}}}
	rc := &routev3.RouteConfiguration{Name: "ingress", VirtualHosts: []*routev3.VirtualHost{{
		Name: "all", Domains: []string{"*"},
		Routes: []*routev3.Route{{
			Name:  "infer",
			Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: inferPrefix}, Grpc: &routev3.RouteMatch_GrpcRouteMatchOptions{}},
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{
				ClusterSpecifier: &routev3.RouteAction_WeightedClusters{WeightedClusters: &routev3.WeightedCluster{Clusters: []*routev3.WeightedCluster_ClusterWeight{
					{Name: "live", Weight: wrapperspb.UInt32(90)}, {Name: "canary", Weight: wrapperspb.UInt32(10)},
				}}},
				RequestMirrorPolicies: []*routev3.RouteAction_RequestMirrorPolicy{mirror},
			}},
		}, {
			Name:   "predict",
			Match:  prefixMatch("/"),
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: "rest"}}},
		}},
	}}}
	return map[resource.Type][]types.Resource{
		resource.ListenerType: {makeListener(t, "driftcar", "ingress")},
		resource.RouteType:    {rc},
		resource.ClusterType: {
			withProtocol(t, makeCluster("live"), liveOpts),
			withProtocol(t, makeCluster("canary"), explicitHTTP2()),
			withProtocol(t, makeCluster("shadow"), explicitHTTP2()),
			makeCluster("rest"),
		},
		resource.EndpointType: {
			makeCLA("live", "127.0.0.1:9001"), makeCLA("canary", "127.0.0.1:9002"),
			makeCLA("shadow", "127.0.0.1:9003"), makeCLA("rest", "127.0.0.1:8081"),
		},
		resource.ExtensionConfigType: {extension(t, map[string]any{"shadow_samples": map[string]any{"keep": 3}})},
	}
}

// TestGRPCFromControlPlane: over a real go-control-plane ADS server, a
// route with a gRPC method prefix over clusters with HTTP/2 protocol
// options becomes a gRPC route with grpc_address upstreams and a gRPC
// shadow; an HTTP/3 cluster is NACKed and the last good config stays.
func TestGRPCFromControlPlane(t *testing.T) {
	c := startCP(t, "127.0.0.1:0")
	s, err := cache.NewSnapshot("1", grpcResources(t, explicitHTTP2()))
	if err != nil {
		t.Fatal(err)
	}
	c.set(t, s)
	h := startClient(t, c.addr, func(o *Options) {
		o.Base = []byte("listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\ngrpc_listen: 127.0.0.1:0\nmodel: m\n" +
			"routes:\n  - {name: infer, protocol: open-inference-v2, split: [{upstream: x, weight: 1}]}\n")
	})
	waitFor(t, "first config", synced(h))
	waitAcked(t, c, "1", allTypes...)
	u, _ := h.app.last()
	cfg := u.Config
	for name, want := range map[string]string{"live": "127.0.0.1:9001", "canary": "127.0.0.1:9002", "shadow": "127.0.0.1:9003", "rest": ""} {
		if got := cfg.Upstreams[name].GRPCAddress; got != want {
			t.Errorf("upstream %s: got grpc_address %q; want %q", name, got, want)
		}
	}
	infer := cfg.Routes[0]
	if infer.Name != "infer" || infer.Match.PathPrefix != inferPrefix || !config.ServesGRPC(&infer, cfg.Upstreams) {
		t.Errorf("got route %+v; want the gRPC route first", infer)
	}
	if infer.Protocol != "open-inference-v2" || infer.Shadow == nil || infer.Shadow.Upstream != "shadow" || *infer.Shadow.Fraction != 0.25 {
		t.Errorf("got protocol %q shadow %+v; want the template's protocol and the mirror policy", infer.Protocol, infer.Shadow)
	}
	if got := weights(cfg); len(got) < 2 || got[0] != "live=90" || got[1] != "canary=10" {
		t.Errorf("got arms %v", got)
	}

	h3 := &httpv3.HttpProtocolOptions{UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
		ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http3ProtocolOptions{Http3ProtocolOptions: &corev3.Http3ProtocolOptions{}}}}}
	s2, err := cache.NewSnapshot("2", grpcResources(t, h3))
	if err != nil {
		t.Fatal(err)
	}
	c.set(t, s2)
	waitFor(t, "a CDS NACK", func() bool { return len(nacks(c.wire, ClusterType)) > 0 })
	nk := nacks(c.wire, ClusterType)[0]
	if msg := nk.GetErrorDetail().GetMessage(); !strings.Contains(msg, `Cluster "live"`) || !strings.Contains(msg, "HTTP/3 upstreams are not supported") {
		t.Errorf("got error_detail %q; want the cluster and the reason", msg)
	}
	if nk.GetVersionInfo() != "1" {
		t.Errorf("NACK version_info %q; want the last good 1", nk.GetVersionInfo())
	}
	if u, _ := h.app.last(); u.Config.Upstreams["live"].GRPCAddress != "127.0.0.1:9001" {
		t.Errorf("got live %+v after the NACK; want the last good", u.Config.Upstreams["live"])
	}
}
