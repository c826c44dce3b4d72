package controlplane

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"

	xdstypev3 "github.com/cncf/xds/go/xds/type/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/envoyproxy/go-control-plane/pkg/wellknown"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/config/xds"
)

// ResourceName names the Listener, the RouteConfiguration and its
// VirtualHost that the control plane produces for each sidecar.
const ResourceName = "driftcar"

// Resources are the Envoy resources translated from one config file.
type Resources struct {
	// Version is a hash of the file's bytes: the same file always gives
	// the same version, across restarts of the control plane.
	Version    string
	Clusters   []*clusterv3.Cluster
	Endpoints  []*endpointv3.ClusterLoadAssignment
	Listeners  []*listenerv3.Listener
	Routes     []*routev3.RouteConfiguration
	Extensions []*corev3.TypedExtensionConfig
}

// Translate parses data as a sidecar config file, validates it with
// config.Parse, and translates it into Envoy resources: per upstream a
// Cluster (EDS for an IP address, with its ClusterLoadAssignment, or
// STRICT_DNS for a host name), one Listener and RouteConfiguration named
// driftcar, and the driftcar TypedExtensionConfig carrying everything
// else. Every resource passes its ValidateAll and the set is a consistent
// snapshot.
func Translate(data []byte) (*Resources, error) {
	cfg, err := config.Parse(data)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	r := &Resources{Version: hex.EncodeToString(sum[:6])}
	for _, name := range slices.Sorted(maps.Keys(cfg.Upstreams)) {
		c, cla, err := cluster(name, cfg.Upstreams[name])
		if err != nil {
			return nil, fmt.Errorf("upstreams[%q]: %w", name, err)
		}
		r.Clusters = append(r.Clusters, c)
		if cla != nil {
			r.Endpoints = append(r.Endpoints, cla)
		}
	}
	l, err := listener(cfg.Listen)
	if err != nil {
		return nil, err
	}
	r.Listeners = []*listenerv3.Listener{l}
	r.Routes = []*routev3.RouteConfiguration{routeConfig(cfg)}
	ext, err := extension(data)
	if err != nil {
		return nil, err
	}
	r.Extensions = []*corev3.TypedExtensionConfig{ext}
	for _, m := range r.all() {
		if err := m.(interface{ ValidateAll() error }).ValidateAll(); err != nil {
			return nil, fmt.Errorf("produced an invalid %s %q: %w", m.ProtoReflect().Descriptor().Name(), cache.GetResourceName(m), err)
		}
	}
	s, err := r.Snapshot()
	if err != nil {
		return nil, err
	}
	if err := s.Consistent(); err != nil {
		return nil, fmt.Errorf("produced an inconsistent snapshot: %w", err)
	}
	return r, nil
}

// all lists the resources in ADS order.
func (r *Resources) all() []types.Resource {
	var out []types.Resource
	for _, c := range r.Clusters {
		out = append(out, c)
	}
	for _, e := range r.Endpoints {
		out = append(out, e)
	}
	for _, l := range r.Listeners {
		out = append(out, l)
	}
	for _, rc := range r.Routes {
		out = append(out, rc)
	}
	for _, e := range r.Extensions {
		out = append(out, e)
	}
	return out
}

// Snapshot returns a new go-control-plane snapshot of r. Every type is
// present, even when empty, so that each carries r.Version.
func (r *Resources) Snapshot() (*cache.Snapshot, error) {
	res := map[resource.Type][]types.Resource{
		resource.ClusterType:         {},
		resource.EndpointType:        {},
		resource.ListenerType:        {},
		resource.RouteType:           {},
		resource.ExtensionConfigType: {},
	}
	for _, c := range r.Clusters {
		res[resource.ClusterType] = append(res[resource.ClusterType], c)
	}
	for _, e := range r.Endpoints {
		res[resource.EndpointType] = append(res[resource.EndpointType], e)
	}
	for _, l := range r.Listeners {
		res[resource.ListenerType] = append(res[resource.ListenerType], l)
	}
	for _, rc := range r.Routes {
		res[resource.RouteType] = append(res[resource.RouteType], rc)
	}
	for _, e := range r.Extensions {
		res[resource.ExtensionConfigType] = append(res[resource.ExtensionConfigType], e)
	}
	s, err := cache.NewSnapshot(r.Version, res)
	if err != nil {
		return nil, fmt.Errorf("cannot build a snapshot: %w", err)
	}
	return s, nil
}

var adsSource = &corev3.ConfigSource{
	ResourceApiVersion:    corev3.ApiVersion_V3,
	ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
}

// mustAny wraps m with deterministic bytes, so that equal resources
// marshal equally.
func mustAny(m proto.Message) *anypb.Any {
	a := &anypb.Any{}
	if err := anypb.MarshalFrom(a, m, proto.MarshalOptions{Deterministic: true}); err != nil {
		panic(fmt.Sprintf("controlplane: cannot wrap %T in Any: %v", m, err))
	}
	return a
}

func socketAddress(host string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}

func splitAddr(addr string) (string, uint32, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("cannot split %q: %w", addr, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("cannot parse port of %q: %w", addr, err)
	}
	return host, uint32(p), nil
}

func cluster(name string, u config.Upstream) (*clusterv3.Cluster, *endpointv3.ClusterLoadAssignment, error) {
	var host string
	var lbs []*endpointv3.LbEndpoint
	for _, addr := range u.Endpoints() {
		h, port, err := splitAddr(addr)
		if err != nil {
			return nil, nil, err
		}
		if host == "" {
			host = h
		}
		lbs = append(lbs, &endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{
			Endpoint: &endpointv3.Endpoint{Address: socketAddress(h, port)},
		}})
	}
	cla := &endpointv3.ClusterLoadAssignment{ClusterName: name, Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: lbs}}}
	opts := &httpv3.HttpProtocolOptions{
		CommonHttpProtocolOptions: &corev3.HttpProtocolOptions{IdleTimeout: durationpb.New(time.Duration(u.IdleTimeout))},
		UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{HttpProtocolOptions: &corev3.Http1ProtocolOptions{}},
		}},
	}
	c := &clusterv3.Cluster{
		Name:           name,
		ConnectTimeout: durationpb.New(time.Duration(u.ConnectTimeout)),
		LbPolicy:       clusterv3.Cluster_ROUND_ROBIN,
		CircuitBreakers: &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{{
			Priority:       corev3.RoutingPriority_DEFAULT,
			MaxConnections: wrapperspb.UInt32(uint32(min(u.MaxConns, math.MaxUint32))),
		}}},
		TypedExtensionProtocolOptions: map[string]*anypb.Any{
			"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": mustAny(opts),
		},
	}
	if _, err := netip.ParseAddr(host); err == nil {
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS}
		c.EdsClusterConfig = &clusterv3.Cluster_EdsClusterConfig{EdsConfig: adsSource}
		return c, cla, nil
	}
	// Envoy resolves host names itself, so a name is a DNS cluster with
	// its endpoint inline rather than an EDS endpoint.
	c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS}
	c.LoadAssignment = cla
	return c, nil, nil
}

func listener(listen string) (*listenerv3.Listener, error) {
	host, port, err := splitAddr(listen)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	hcm := &hcmv3.HttpConnectionManager{
		StatPrefix: ResourceName,
		CodecType:  hcmv3.HttpConnectionManager_AUTO,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource: adsSource, RouteConfigName: ResourceName,
		}},
		HttpFilters: []*hcmv3.HttpFilter{{
			Name:       wellknown.Router,
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})},
		}},
	}
	return &listenerv3.Listener{
		Name:    ResourceName,
		Address: socketAddress(host, port),
		FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
			Name:       wellknown.HTTPConnectionManager,
			ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(hcm)},
		}}}},
	}, nil
}

func routeConfig(cfg *config.Config) *routev3.RouteConfiguration {
	vh := &routev3.VirtualHost{Name: ResourceName, Domains: []string{"*"}}
	for _, r := range cfg.Routes {
		wc := &routev3.WeightedCluster{}
		for _, a := range r.Split {
			wc.Clusters = append(wc.Clusters, &routev3.WeightedCluster_ClusterWeight{
				Name: a.Upstream, Weight: wrapperspb.UInt32(uint32(*a.Weight)),
			})
		}
		action := &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_WeightedClusters{WeightedClusters: wc}}
		if s := r.Sticky; s != nil {
			var hp *routev3.RouteAction_HashPolicy
			switch {
			case s.Header != "":
				hp = &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_Header_{
					Header: &routev3.RouteAction_HashPolicy_Header{HeaderName: s.Header}}}
			case s.Cookie != "":
				hp = &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_Cookie_{
					Cookie: &routev3.RouteAction_HashPolicy_Cookie{Name: s.Cookie}}}
			default:
				hp = &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_QueryParameter_{
					QueryParameter: &routev3.RouteAction_HashPolicy_QueryParameter{Name: s.Query}}}
			}
			action.HashPolicy = []*routev3.RouteAction_HashPolicy{hp}
			wc.RandomValueSpecifier = &routev3.WeightedCluster_UseHashPolicy{UseHashPolicy: wrapperspb.Bool(true)}
		}
		if s := r.Shadow; s != nil {
			action.RequestMirrorPolicies = []*routev3.RouteAction_RequestMirrorPolicy{{
				Cluster:         s.Upstream,
				RuntimeFraction: &corev3.RuntimeFractionalPercent{DefaultValue: fractionalPercent(*s.Fraction)},
			}}
		}
		vh.Routes = append(vh.Routes, &routev3.Route{
			Name:   r.Name,
			Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: r.Match.PathPrefix}},
			Action: &routev3.Route_Route{Route: action},
		})
	}
	return &routev3.RouteConfiguration{Name: ResourceName, VirtualHosts: []*routev3.VirtualHost{vh}}
}

// fractionalPercent writes f with the smallest denominator that holds it
// exactly, and else in millionths.
func fractionalPercent(f float64) *typev3.FractionalPercent {
	for _, d := range []struct {
		den  typev3.FractionalPercent_DenominatorType
		size float64
	}{
		{typev3.FractionalPercent_HUNDRED, 100},
		{typev3.FractionalPercent_TEN_THOUSAND, 10_000},
		{typev3.FractionalPercent_MILLION, 1_000_000},
	} {
		n := math.Round(f * d.size)
		if n/d.size == f || d.den == typev3.FractionalPercent_MILLION {
			return &typev3.FractionalPercent{Numerator: uint32(n), Denominator: d.den}
		}
	}
	panic("unreachable")
}

// routingKeys are the route keys the RouteConfiguration carries.
var routingKeys = []string{"match", "split", "sticky"}

// extension builds the driftcar TypedExtensionConfig from the file as
// written (not its defaults): everything except listen and admin, which
// belong to the pod, the upstream settings the Cluster carries, and the
// route settings the RouteConfiguration carries. The sidecar's --config
// file fills what the document leaves out.
func extension(data []byte) (*corev3.TypedExtensionConfig, error) {
	var raw any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("cannot parse YAML: %w", err)
	}
	doc, ok := xds.JSONValue(raw).(map[string]any)
	if !ok {
		return nil, errors.New("config must be a mapping")
	}
	delete(doc, "listen")
	delete(doc, "admin")
	if ups, ok := doc["upstreams"].(map[string]any); ok {
		for name, u := range ups {
			m, _ := u.(map[string]any)
			for _, k := range []string{"address", "connect_timeout", "max_conns", "idle_timeout"} {
				delete(m, k)
			}
			if len(m) == 0 {
				delete(ups, name)
			}
		}
		if len(ups) == 0 {
			delete(doc, "upstreams")
		}
	}
	if routes, ok := doc["routes"].([]any); ok {
		for _, r := range routes {
			m, _ := r.(map[string]any)
			for _, k := range routingKeys {
				delete(m, k)
			}
			if sh, ok := m["shadow"].(map[string]any); ok {
				delete(sh, "upstream")
				delete(sh, "fraction")
				if len(sh) == 0 {
					delete(m, "shadow")
				}
			}
		}
	}
	s, err := structpb.NewStruct(doc)
	if err != nil {
		return nil, fmt.Errorf("cannot encode the driftcar extension: %w", err)
	}
	return &corev3.TypedExtensionConfig{
		Name:        xds.ExtensionName,
		TypedConfig: mustAny(&xdstypev3.TypedStruct{TypeUrl: xds.ConfigTypeURL, Value: s}),
	}, nil
}

// Render translates data like Translate and prints the resources as
// indented JSON, in the proto3 JSON mapping, grouped by type in ADS
// order.
func Render(data []byte) ([]byte, error) {
	r, err := Translate(data)
	if err != nil {
		return nil, err
	}
	type group struct {
		key  string
		msgs []proto.Message
	}
	groups := []group{
		{"clusters", msgs(r.Clusters)},
		{"endpoints", msgs(r.Endpoints)},
		{"listeners", msgs(r.Listeners)},
		{"routes", msgs(r.Routes)},
		{"extension_configs", msgs(r.Extensions)},
	}
	out := struct {
		Version          string            `json:"version"`
		Clusters         []json.RawMessage `json:"clusters"`
		Endpoints        []json.RawMessage `json:"endpoints"`
		Listeners        []json.RawMessage `json:"listeners"`
		Routes           []json.RawMessage `json:"routes"`
		ExtensionConfigs []json.RawMessage `json:"extension_configs"`
	}{Version: r.Version}
	dst := map[string]*[]json.RawMessage{
		"clusters": &out.Clusters, "endpoints": &out.Endpoints, "listeners": &out.Listeners,
		"routes": &out.Routes, "extension_configs": &out.ExtensionConfigs,
	}
	for _, g := range groups {
		list := []json.RawMessage{}
		for _, m := range g.msgs {
			b, err := protojson.Marshal(m)
			if err != nil {
				return nil, fmt.Errorf("cannot render %s: %w", g.key, err)
			}
			list = append(list, b)
		}
		*dst[g.key] = list
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("cannot render: %w", err)
	}
	return append(b, '\n'), nil
}

func msgs[M proto.Message](in []M) []proto.Message {
	out := make([]proto.Message, len(in))
	for i, m := range in {
		out[i] = m
	}
	return out
}
