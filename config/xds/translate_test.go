package xds

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	udpatypev1 "github.com/cncf/xds/go/udpa/type/v1"
	xdstypev3 "github.com/cncf/xds/go/xds/type/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/internal/payload"
)

func prefixMatch(p string) *routev3.RouteMatch {
	return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: p}}
}

func weighted(arms ...armSpec) *routev3.RouteAction_WeightedClusters {
	wc := &routev3.WeightedCluster{}
	for _, a := range arms {
		wc.Clusters = append(wc.Clusters, &routev3.WeightedCluster_ClusterWeight{Name: a.cluster, Weight: wrapperspb.UInt32(a.weight)})
	}
	return &routev3.RouteAction_WeightedClusters{WeightedClusters: wc}
}

func hashOn(wc *routev3.RouteAction_WeightedClusters) *routev3.RouteAction_WeightedClusters {
	wc.WeightedClusters.RandomValueSpecifier = &routev3.WeightedCluster_UseHashPolicy{UseHashPolicy: wrapperspb.Bool(true)}
	return wc
}

func mirrorOf(cluster string, num uint32, den typev3.FractionalPercent_DenominatorType) *routev3.RouteAction_RequestMirrorPolicy {
	return &routev3.RouteAction_RequestMirrorPolicy{Cluster: cluster, RuntimeFraction: &corev3.RuntimeFractionalPercent{
		DefaultValue: &typev3.FractionalPercent{Numerator: num, Denominator: den}}}
}

func TestDecodeRoute(t *testing.T) {
	two := []armSpec{{"live", 90}, {"canary", 10}}
	cases := []struct {
		name    string
		route   *routev3.Route
		want    routeSpec
		wantErr string
	}{{
		name: "weighted, sticky header, mirror 5/100",
		route: &routev3.Route{Match: prefixMatch("/v1"), Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier: hashOn(weighted(two...)),
			HashPolicy: []*routev3.RouteAction_HashPolicy{
				{PolicySpecifier: &routev3.RouteAction_HashPolicy_ConnectionProperties_{ConnectionProperties: &routev3.RouteAction_HashPolicy_ConnectionProperties{SourceIp: true}}},
				{PolicySpecifier: &routev3.RouteAction_HashPolicy_Header_{Header: &routev3.RouteAction_HashPolicy_Header{HeaderName: "x-user-id"}}},
			},
			RequestMirrorPolicies: []*routev3.RouteAction_RequestMirrorPolicy{mirrorOf("shadow", 5, typev3.FractionalPercent_HUNDRED)},
		}}},
		want: routeSpec{name: "r", prefix: "/v1", arms: two, sticky: &config.Sticky{Header: "x-user-id"}, mirror: &mirrorSpec{"shadow", 0.05}},
	}, {
		name: "cookie",
		route: &routev3.Route{Match: prefixMatch("/"), Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier: hashOn(weighted(two...)),
			HashPolicy: []*routev3.RouteAction_HashPolicy{{PolicySpecifier: &routev3.RouteAction_HashPolicy_Cookie_{
				Cookie: &routev3.RouteAction_HashPolicy_Cookie{Name: "session"}}}},
		}}},
		want: routeSpec{name: "r", prefix: "/", arms: two, sticky: &config.Sticky{Cookie: "session"}},
	}, {
		name: "query parameter",
		route: &routev3.Route{Match: prefixMatch("/"), Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier: hashOn(weighted(two...)),
			HashPolicy: []*routev3.RouteAction_HashPolicy{{PolicySpecifier: &routev3.RouteAction_HashPolicy_QueryParameter_{
				QueryParameter: &routev3.RouteAction_HashPolicy_QueryParameter{Name: "user"}}}},
		}}},
		want: routeSpec{name: "r", prefix: "/", arms: two, sticky: &config.Sticky{Query: "user"}},
	}, {
		name: "hash policy without use_hash_policy is ignored",
		route: &routev3.Route{Match: prefixMatch("/"), Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier: weighted(two...),
			HashPolicy: []*routev3.RouteAction_HashPolicy{{PolicySpecifier: &routev3.RouteAction_HashPolicy_Header_{
				Header: &routev3.RouteAction_HashPolicy_Header{HeaderName: "x-user-id"}}}},
		}}},
		want: routeSpec{name: "r", prefix: "/", arms: two},
	}, {
		name: "header_name random value is a sticky header",
		route: &routev3.Route{Match: prefixMatch("/"), Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier: func() *routev3.RouteAction_WeightedClusters {
				w := weighted(two...)
				w.WeightedClusters.RandomValueSpecifier = &routev3.WeightedCluster_HeaderName{HeaderName: "x-split"}
				return w
			}(),
		}}},
		want: routeSpec{name: "r", prefix: "/", arms: two, sticky: &config.Sticky{Header: "x-split"}},
	}, {
		name: "single cluster, mirror of everything",
		route: &routev3.Route{Match: prefixMatch(""), Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier:      &routev3.RouteAction_Cluster{Cluster: "live"},
			RequestMirrorPolicies: []*routev3.RouteAction_RequestMirrorPolicy{{Cluster: "shadow"}},
		}}},
		want: routeSpec{name: "r", prefix: "/", arms: []armSpec{{"live", 1}}, mirror: &mirrorSpec{"shadow", 1}},
	}, {
		name: "use_hash_policy without a usable policy",
		route: &routev3.Route{Match: prefixMatch("/"), Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier: hashOn(weighted(two...)),
		}}},
		wantErr: "hash_policy needs a header, cookie or query_parameter policy",
	}, {
		name:    "exact path",
		route:   &routev3.Route{Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: "/x"}}, Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: weighted(two...)}}},
		wantErr: "only prefix is supported, got path",
	}, {
		name: "header matcher",
		route: &routev3.Route{Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"},
			Headers: []*routev3.HeaderMatcher{{Name: "x"}}}, Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: weighted(two...)}}},
		wantErr: "match.headers is not supported",
	}, {
		name:    "redirect",
		route:   &routev3.Route{Match: prefixMatch("/"), Action: &routev3.Route_Redirect{Redirect: &routev3.RedirectAction{}}},
		wantErr: "only route is supported, got redirect",
	}, {
		name:    "cluster_header",
		route:   &routev3.Route{Match: prefixMatch("/"), Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_ClusterHeader{ClusterHeader: "x-c"}}}},
		wantErr: "got cluster_header",
	}, {
		name:    "weights sum to zero",
		route:   &routev3.Route{Match: prefixMatch("/"), Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: weighted(armSpec{"a", 0}, armSpec{"b", 0})}}},
		wantErr: "weights must sum to more than 0",
	}, {
		name: "two mirrors",
		route: &routev3.Route{Match: prefixMatch("/"), Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier:      weighted(two...),
			RequestMirrorPolicies: []*routev3.RouteAction_RequestMirrorPolicy{{Cluster: "a"}, {Cluster: "b"}},
		}}},
		wantErr: "one shadow per route, got 2",
	}, {
		name: "mirror fraction above 100%",
		route: &routev3.Route{Match: prefixMatch("/"), Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier:      weighted(two...),
			RequestMirrorPolicies: []*routev3.RouteAction_RequestMirrorPolicy{mirrorOf("s", 20_000, typev3.FractionalPercent_TEN_THOUSAND)},
		}}},
		wantErr: "numerator 20000 exceeds the denominator TEN_THOUSAND",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeRoute("r", tc.route)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v; want %+v", got, tc.want)
			}
		})
	}
}

func lbEndpoint(addr string, port uint32, hs corev3.HealthStatus) *endpointv3.LbEndpoint {
	return &endpointv3.LbEndpoint{HealthStatus: hs, HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
		Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
			Address: addr, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}}}}}}}
}

func TestUsableAddresses(t *testing.T) {
	cla := &endpointv3.ClusterLoadAssignment{ClusterName: "c", Endpoints: []*endpointv3.LocalityLbEndpoints{
		{Priority: 1, LbEndpoints: []*endpointv3.LbEndpoint{lbEndpoint("10.0.0.9", 80, corev3.HealthStatus_HEALTHY)}},
		{Priority: 0, LbEndpoints: []*endpointv3.LbEndpoint{
			lbEndpoint("10.0.0.1", 80, corev3.HealthStatus_UNHEALTHY),
			lbEndpoint("10.0.0.2", 80, corev3.HealthStatus_DEGRADED),
			lbEndpoint("::1", 81, corev3.HealthStatus_UNKNOWN),
			lbEndpoint("10.0.0.3", 80, corev3.HealthStatus_DRAINING),
		}},
	}}
	got, err := usableAddresses(cla)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"[::1]:81", "10.0.0.9:80", "10.0.0.2:80"}; !slices.Equal(got, want) {
		t.Errorf("got %v; want %v", got, want)
	}
}

func TestDecodeCluster(t *testing.T) {
	opts, err := anypb.New(&httpv3.HttpProtocolOptions{
		CommonHttpProtocolOptions: &corev3.HttpProtocolOptions{IdleTimeout: durationpb.New(42 * time.Second)},
		UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{HttpProtocolOptions: &corev3.Http1ProtocolOptions{}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	static := &clusterv3.Cluster{
		Name:                 "live",
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS},
		ConnectTimeout:       durationpb.New(2 * time.Second),
		LoadAssignment: &endpointv3.ClusterLoadAssignment{ClusterName: "live", Endpoints: []*endpointv3.LocalityLbEndpoints{{
			LbEndpoints: []*endpointv3.LbEndpoint{lbEndpoint("model.local", 8081, corev3.HealthStatus_UNKNOWN)}}}},
		CircuitBreakers: &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{
			{Priority: corev3.RoutingPriority_HIGH, MaxConnections: wrapperspb.UInt32(1)},
			{Priority: corev3.RoutingPriority_DEFAULT, MaxConnections: wrapperspb.UInt32(64)},
		}},
		TypedExtensionProtocolOptions: map[string]*anypbAny{"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": opts},
	}
	got, err := decodeCluster(static)
	if err != nil {
		t.Fatal(err)
	}
	want := &clusterRes{name: "live", inline: []string{"model.local:8081"}, connectTimeout: 2 * time.Second, idleTimeout: 42 * time.Second, maxConns: 64}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v; want %+v", got, want)
	}
	eds := makeCluster("canary")
	eds.EdsClusterConfig.ServiceName = "canary-v2"
	if got, err := decodeCluster(eds); err != nil || got.eds != "canary-v2" {
		t.Errorf("got %+v, %v; want EDS name canary-v2", got, err)
	}
	tlsAny, _ := anypb.New(&tlsv3.UpstreamTlsContext{})
	withTLS := makeCluster("x")
	withTLS.TransportSocket = &corev3.TransportSocket{Name: "envoy.transport_sockets.tls", ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: tlsAny}}
	if _, err := decodeCluster(withTLS); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Errorf("got %v; want a TLS error", err)
	}
	orig := &clusterv3.Cluster{Name: "o", ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST}}
	if _, err := decodeCluster(orig); err == nil || !strings.Contains(err.Error(), "ORIGINAL_DST is not supported") {
		t.Errorf("got %v; want an unsupported type error", err)
	}
}

func TestDecodeExtension(t *testing.T) {
	s, _ := structpb.NewStruct(map[string]any{"shadow_samples": map[string]any{"keep": 3}})
	ok := func(m proto.Message) *corev3.TypedExtensionConfig {
		a, err := anypb.New(m)
		if err != nil {
			t.Fatal(err)
		}
		return &corev3.TypedExtensionConfig{Name: ExtensionName, TypedConfig: a}
	}
	for _, tc := range []struct {
		name    string
		ext     *corev3.TypedExtensionConfig
		wantErr string
	}{
		{"xds TypedStruct", ok(&xdstypev3.TypedStruct{TypeUrl: ConfigTypeURL, Value: s}), ""},
		{"udpa TypedStruct", ok(&udpatypev1.TypedStruct{TypeUrl: ConfigTypeURL, Value: s}), ""},
		{"wrong type_url", ok(&xdstypev3.TypedStruct{TypeUrl: "type.googleapis.com/other.Config", Value: s}), `typed_config.type_url must be "type.googleapis.com/driftcar.v1.Config"`},
		{"not a TypedStruct", ok(s), "typed_config must be an xds.type.v3.TypedStruct"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := decodeExtension(tc.ext)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v; want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || asMap(doc["shadow_samples"])["keep"] != 3.0 {
				t.Fatalf("got %v, %v", doc, err)
			}
		})
	}
}

// stateOf builds a view from decoded resources, all kinds known.
func stateOf(clusters []*clusterRes, endpoints []*endpointRes, routes []routeSpec, ext map[string]any) *view {
	v := newView()
	for _, c := range clusters {
		v.res[kindCluster][c.name] = c
	}
	for _, e := range endpoints {
		v.res[kindEndpoint][e.name] = e
	}
	if routes != nil {
		v.res[kindRoute]["rc"] = &routeConfigRes{name: "rc", routes: routes}
	}
	if ext != nil {
		v.res[kindExtension][ExtensionName] = &extensionRes{name: ExtensionName, doc: ext}
	}
	for k := range numKinds {
		v.known[k] = true
	}
	return v
}

func TestBuildPrecedence(t *testing.T) {
	base, err := parseBase([]byte(`
listen: 127.0.0.1:18080
admin: 127.0.0.1:19901
model: credit
shadow_samples: {keep: 5}
upstreams:
  live: {address: 10.9.9.9:1, timeout: 3s}
routes:
  - name: predict
    protocol: open-inference-v2
    shadow: {upstream: old, fraction: 1, compare: {abs_tolerance: 0.5}}
    split: [{upstream: old, weight: 1}]
`))
	if err != nil {
		t.Fatal(err)
	}
	ext := map[string]any{
		"shadow_samples": map[string]any{"max_body": "1KiB"},
		"upstreams":      map[string]any{"canary": map[string]any{"timeout": "7s", "max_conns": 8.0}},
	}
	v := stateOf(
		[]*clusterRes{{name: "live", eds: "live"}, {name: "canary", eds: "canary", maxConns: 16}, {name: "shadow", inline: []string{"10.0.0.5:9000"}}},
		[]*endpointRes{{name: "live", addresses: []string{"10.0.0.1:8080", "10.0.0.2:8080"}}, {name: "canary", addresses: []string{"10.0.0.3:8080"}}},
		[]routeSpec{{name: "predict", prefix: "/", arms: []armSpec{{"live", 9}, {"canary", 1}}, mirror: &mirrorSpec{"shadow", 0.25}}},
		ext)
	cfg, notes, err := build(base, v, ExtensionName)
	if err != nil {
		t.Fatal(err)
	}
	// The base sets what xDS does not: listen, admin, model, and route
	// settings (protocol, shadow.compare) by route name; ECDS overrides
	// the base key by key.
	if cfg.Listen != "127.0.0.1:18080" || cfg.Model != "credit" || cfg.ShadowSamples.Keep != 5 || cfg.ShadowSamples.MaxBody != 1024 {
		t.Errorf("got listen %q model %q shadow_samples %+v", cfg.Listen, cfg.Model, cfg.ShadowSamples)
	}
	r := cfg.Routes[0]
	if r.Protocol != payload.OpenInferenceV2.String() || r.Shadow == nil || r.Shadow.Upstream != "shadow" || *r.Shadow.Fraction != 0.25 || *r.Shadow.Compare.AbsTolerance != 0.5 {
		t.Errorf("got route %+v shadow %+v", r, r.Shadow)
	}
	if got := weights(cfg); !slices.Equal(got, []string{"live=9", "canary=1"}) {
		t.Errorf("got arms %v", got)
	}
	// Upstreams: the address from EDS (the first usable endpoint), the
	// cluster's settings over the templates' (base, then ECDS).
	live, canary := cfg.Upstreams["live"], cfg.Upstreams["canary"]
	if live.Address != "10.0.0.1:8080" || time.Duration(live.Timeout) != 3*time.Second {
		t.Errorf("got live %+v", live)
	}
	if canary.MaxConns != 16 || time.Duration(canary.Timeout) != 7*time.Second {
		t.Errorf("got canary %+v; want max_conns 16 from the cluster, timeout 7s from ECDS", canary)
	}
	if len(notes) != 0 || !slices.Equal(live.Addresses, []string{"10.0.0.1:8080", "10.0.0.2:8080"}) {
		t.Errorf("got notes %q, live addresses %v; want both endpoints balanced", notes, live.Addresses)
	}

	// Without a mirror policy, the route has no shadow whatever the
	// templates say.
	v.res[kindRoute]["rc"] = &routeConfigRes{name: "rc", routes: []routeSpec{{name: "predict", prefix: "/", arms: []armSpec{{"live", 1}}}}}
	if cfg, _, err = build(base, v, ExtensionName); err != nil || cfg.Routes[0].Shadow != nil {
		t.Errorf("got %v, shadow %+v; want no shadow", err, cfg.Routes[0].Shadow)
	}
}

func TestBuildErrors(t *testing.T) {
	base, _ := parseBase([]byte("listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\n"))
	routes := []routeSpec{{name: "predict", prefix: "/", arms: []armSpec{{"live", 1}}}}
	live := []*clusterRes{{name: "live", inline: []string{"10.0.0.1:80"}}}

	_, _, err := build(base, stateOf(live, nil, routes, map[string]any{"drift": map[string]any{"windowz": []any{"5m"}}}), ExtensionName)
	if err == nil || err.Error() != "drift.windowz: unknown field" {
		t.Errorf("got %v; want the config error without a line", err)
	}
	if _, _, err := build(base, stateOf(live, nil, nil, nil), ExtensionName); !errors.Is(err, errNoRoutes) {
		t.Errorf("got %v; want errNoRoutes", err)
	}
	// Before any CDS response, upstreams come from the documents and are
	// checked strictly: a typo is an error, not a pending cluster.
	v := stateOf(nil, nil, routes, map[string]any{"upstreams": map[string]any{"lve": map[string]any{"address": "10.0.0.1:80"}}})
	v.known[kindCluster] = false
	if _, _, err := build(base, v, ExtensionName); err == nil || !strings.Contains(err.Error(), `unknown upstream "live"`) {
		t.Errorf("got %v; want unknown upstream", err)
	}
	// After one, a missing cluster is pending: its arm answers 503.
	cfg, notes, err := build(base, stateOf(nil, nil, routes, nil), ExtensionName)
	if err != nil || len(cfg.Upstreams) != 0 || len(notes) != 1 {
		t.Errorf("got %v, upstreams %v, notes %q", err, cfg.Upstreams, notes)
	}
}

func TestMergePatch(t *testing.T) {
	doc := map[string]any{"a": map[string]any{"x": 1, "y": 2}, "l": []any{1, 2}, "gone": true}
	patch := map[string]any{"a": map[string]any{"y": nil, "z": 3}, "l": []any{3}, "gone": nil, "new": "v"}
	got := mergePatch(doc, patch)
	want := map[string]any{"a": map[string]any{"x": 1, "z": 3}, "l": []any{3}, "new": "v"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v; want %v", got, want)
	}
	if _, ok := doc["gone"]; !ok || asMap(doc["a"])["y"] != 2 {
		t.Error("mergePatch modified its input")
	}
}

func TestNodeFromEnv(t *testing.T) {
	env := map[string]string{"POD_NAME": "pod-7", "POD_NAMESPACE": "ml"}
	n, err := NodeFromEnv("", "", func(k string) string { return env[k] })
	if err != nil || n.GetId() != "pod-7" || n.GetCluster() != "ml" {
		t.Errorf("got %v, %v", n, err)
	}
	n, err = NodeFromEnv("flag-id", "flag-cluster", func(k string) string { return env[k] })
	if err != nil || n.GetId() != "flag-id" || n.GetCluster() != "flag-cluster" {
		t.Errorf("got %v, %v; want the flags to win", n, err)
	}
	if _, err := NodeFromEnv("", "", func(string) string { return "" }); err == nil {
		t.Error("got no error without an id")
	}
}

func TestNewChecksOptions(t *testing.T) {
	ok := Options{Server: "x:1", Node: &corev3.Node{Id: "n"}, Apply: func(Update) error { return nil }}
	for _, tc := range []struct {
		name   string
		mutate func(*Options)
	}{
		{"no server", func(o *Options) { o.Server = "" }},
		{"no node id", func(o *Options) { o.Node = &corev3.Node{} }},
		{"no apply", func(o *Options) { o.Apply = nil }},
		{"base not a mapping", func(o *Options) { o.Base = []byte("- a\n") }},
	} {
		o := ok
		tc.mutate(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: got no error", tc.name)
		}
	}
	if _, err := New(ok); err != nil {
		t.Error(err)
	}
}
