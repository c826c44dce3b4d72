package xds

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	udpatypev1 "github.com/cncf/xds/go/udpa/type/v1"
	xdstypev3 "github.com/cncf/xds/go/xds/type/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/driftcar/driftcar/config"
)

// kind is one of the resource types the client subscribes to, in the
// order go-control-plane's ordered ADS sends them.
type kind int

const (
	kindCluster kind = iota
	kindEndpoint
	kindListener
	kindRoute
	kindExtension
	numKinds
)

const apiTypePrefix = "type.googleapis.com/"

// Type URLs of the subscribed resources.
const (
	ClusterType         = apiTypePrefix + "envoy.config.cluster.v3.Cluster"
	EndpointType        = apiTypePrefix + "envoy.config.endpoint.v3.ClusterLoadAssignment"
	ListenerType        = apiTypePrefix + "envoy.config.listener.v3.Listener"
	RouteType           = apiTypePrefix + "envoy.config.route.v3.RouteConfiguration"
	ExtensionConfigType = apiTypePrefix + "envoy.config.core.v3.TypedExtensionConfig"
	resourceWrapperType = apiTypePrefix + "envoy.service.discovery.v3.Resource"
	hcmFilterType       = apiTypePrefix + "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
	httpOptionsType     = apiTypePrefix + "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
)

var kindURLs = [numKinds]string{ClusterType, EndpointType, ListenerType, RouteType, ExtensionConfigType}

// kindNames are the type label values of the metrics.
var kindNames = [numKinds]string{"cds", "eds", "lds", "rds", "ecds"}

// kindTitles name a resource of each kind in messages.
var kindTitles = [numKinds]string{"Cluster", "ClusterLoadAssignment", "Listener", "RouteConfiguration", "TypedExtensionConfig"}

func (k kind) String() string { return kindNames[k] }

func kindOf(url string) (kind, bool) {
	i := slices.Index(kindURLs[:], url)
	return kind(i), i >= 0
}

// listenerRes is a decoded Listener: the RouteConfigurations its HTTP
// connection managers name.
type listenerRes struct {
	name         string
	address      string
	routeConfigs []string
}

// routeConfigRes is a decoded RouteConfiguration.
type routeConfigRes struct {
	name   string
	routes []routeSpec
}

// routeSpec is one Envoy route as driftcar sees it.
type routeSpec struct {
	name   string
	prefix string
	arms   []armSpec
	sticky *config.Sticky
	mirror *mirrorSpec
}

type armSpec struct {
	cluster string
	weight  uint32
}

type mirrorSpec struct {
	cluster  string
	fraction float64
}

// clusterRes is a decoded Cluster.
type clusterRes struct {
	name string
	// eds names the ClusterLoadAssignment of an EDS cluster; empty for
	// clusters that carry their endpoints inline.
	eds            string
	inline         []string
	connectTimeout time.Duration
	idleTimeout    time.Duration
	maxConns       int
	// http2 marks a cluster that speaks HTTP/2 to its endpoints: a gRPC
	// upstream (grpc_address).
	http2 bool
}

// endpointRes is a decoded ClusterLoadAssignment: the usable addresses,
// best first.
type endpointRes struct {
	name      string
	addresses []string
}

// extensionRes is the decoded driftcar TypedExtensionConfig.
type extensionRes struct {
	name string
	doc  map[string]any
}

// decodeResponse decodes every resource of resp. want, when not nil, is
// the explicit subscription: other names are ignored. Any problem rejects
// the whole response, and the error names each bad resource.
func decodeResponse(k kind, resp *discoveryv3.DiscoveryResponse, want map[string]bool, ext string) (map[string]any, error) {
	out := make(map[string]any, len(resp.GetResources()))
	seen := make(map[string]int, len(resp.GetResources()))
	var errs []string
	for i, a := range resp.GetResources() {
		if a.GetTypeUrl() == resourceWrapperType {
			w := &discoveryv3.Resource{}
			if err := a.UnmarshalTo(w); err != nil {
				errs = append(errs, fmt.Sprintf("resource %d: cannot decode %s: %v", i, resourceWrapperType, err))
				continue
			}
			if w.GetResource() == nil {
				continue // a TTL heartbeat
			}
			a = w.GetResource()
		}
		if a.GetTypeUrl() != kindURLs[k] {
			errs = append(errs, fmt.Sprintf("resource %d has type %q, want %q", i, a.GetTypeUrl(), kindURLs[k]))
			continue
		}
		m := newMessage(k)
		if err := a.UnmarshalTo(m); err != nil {
			errs = append(errs, fmt.Sprintf("%s: cannot decode: %v", describe(k, "", i), err))
			continue
		}
		name := resourceName(m)
		if first, dup := seen[name]; dup {
			errs = append(errs, fmt.Sprintf("%s: duplicate name (also resource %d)", describe(k, name, i), first))
			continue
		}
		seen[name] = i
		if want != nil && !want[name] {
			continue // not subscribed: neither used nor judged
		}
		res, err := convert(k, m, ext)
		if err != nil {
			errs = append(errs, describe(k, name, i)+": "+err.Error())
			continue
		}
		out[name] = res
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return out, nil
}

func describe(k kind, name string, i int) string {
	if name == "" {
		return fmt.Sprintf("%s (resource %d)", kindTitles[k], i)
	}
	return fmt.Sprintf("%s %q", kindTitles[k], name)
}

// newMessage returns an empty resource of kind k.
func newMessage(k kind) proto.Message {
	switch k {
	case kindCluster:
		return &clusterv3.Cluster{}
	case kindEndpoint:
		return &endpointv3.ClusterLoadAssignment{}
	case kindListener:
		return &listenerv3.Listener{}
	case kindRoute:
		return &routev3.RouteConfiguration{}
	}
	return &corev3.TypedExtensionConfig{}
}

// resourceName is the name a resource is known by: the cluster_name of a
// ClusterLoadAssignment, else the name field.
func resourceName(m proto.Message) string {
	switch r := m.(type) {
	case *endpointv3.ClusterLoadAssignment:
		return r.GetClusterName()
	case interface{ GetName() string }:
		return r.GetName()
	}
	return ""
}

// validator is the generated protoc-gen-validate method.
type validator interface{ ValidateAll() error }

func unmarshalValid(a *anypb.Any, m proto.Message) error {
	if err := a.UnmarshalTo(m); err != nil {
		return fmt.Errorf("cannot decode: %w", err)
	}
	return validate(m)
}

func validate(m proto.Message) error {
	if v, ok := m.(validator); ok {
		if err := v.ValidateAll(); err != nil {
			return fmt.Errorf("invalid: %w", err)
		}
	}
	return nil
}

// convert validates a decoded resource with its generated ValidateAll
// and maps it onto driftcar's view of it.
func convert(k kind, m proto.Message, ext string) (any, error) {
	if err := validate(m); err != nil {
		return nil, err
	}
	switch r := m.(type) {
	case *clusterv3.Cluster:
		return decodeCluster(r)
	case *endpointv3.ClusterLoadAssignment:
		addrs, err := usableAddresses(r)
		return &endpointRes{name: r.GetClusterName(), addresses: addrs}, err
	case *listenerv3.Listener:
		return decodeListener(r)
	case *routev3.RouteConfiguration:
		return decodeRouteConfig(r)
	case *corev3.TypedExtensionConfig:
		if r.GetName() != ext {
			return nil, fmt.Errorf("unexpected extension config (want %q)", ext)
		}
		doc, err := decodeExtension(r)
		return &extensionRes{name: r.GetName(), doc: doc}, err
	}
	return nil, fmt.Errorf("unknown kind %d", k)
}

func decodeListener(l *listenerv3.Listener) (*listenerRes, error) {
	r := &listenerRes{name: l.GetName()}
	if sa := l.GetAddress().GetSocketAddress(); sa != nil {
		r.address = net.JoinHostPort(sa.GetAddress(), strconv.FormatUint(uint64(sa.GetPortValue()), 10))
	}
	chains := l.GetFilterChains()
	if dc := l.GetDefaultFilterChain(); dc != nil {
		chains = append(slices.Clip(chains), dc)
	}
	for ci, chain := range chains {
		for fi, f := range chain.GetFilters() {
			tc := f.GetTypedConfig()
			if tc.GetTypeUrl() != hcmFilterType {
				continue
			}
			h := &hcmv3.HttpConnectionManager{}
			if err := unmarshalValid(tc, h); err != nil {
				return nil, fmt.Errorf("filter_chains[%d].filters[%d] (%s): %w", ci, fi, f.GetName(), err)
			}
			rds := h.GetRds()
			if rds == nil {
				return nil, fmt.Errorf("filter_chains[%d].filters[%d] (%s): only RDS is supported: set rds.route_config_name instead of an inline route_config or scoped_routes", ci, fi, f.GetName())
			}
			if !slices.Contains(r.routeConfigs, rds.GetRouteConfigName()) {
				r.routeConfigs = append(r.routeConfigs, rds.GetRouteConfigName())
			}
		}
	}
	return r, nil
}

func decodeRouteConfig(rc *routev3.RouteConfiguration) (*routeConfigRes, error) {
	res := &routeConfigRes{name: rc.GetName()}
	var errs []error
	for vi, vh := range rc.GetVirtualHosts() {
		for ri, rt := range vh.GetRoutes() {
			where := fmt.Sprintf("virtual_hosts[%d].routes[%d]", vi, ri)
			name := rt.GetName()
			if name == "" {
				name = fmt.Sprintf("%s-%d", vh.GetName(), ri)
			}
			spec, err := decodeRoute(name, rt)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s (%s): %w", where, name, err))
				continue
			}
			res.routes = append(res.routes, spec)
		}
	}
	return res, errors.Join(errs...)
}

func decodeRoute(name string, rt *routev3.Route) (routeSpec, error) {
	spec := routeSpec{name: name}
	m := rt.GetMatch()
	switch p := m.GetPathSpecifier().(type) {
	case *routev3.RouteMatch_Prefix:
		spec.prefix = p.Prefix
		if spec.prefix == "" {
			spec.prefix = "/"
		}
	default:
		return spec, fmt.Errorf("match: only prefix is supported, got %s", oneofName(m, "path_specifier"))
	}
	switch {
	case len(m.GetHeaders()) > 0:
		return spec, errors.New("match.headers is not supported")
	case len(m.GetQueryParameters()) > 0:
		return spec, errors.New("match.query_parameters is not supported")
	case m.GetRuntimeFraction() != nil:
		return spec, errors.New("match.runtime_fraction is not supported")
	case m.GetGrpc() != nil && !config.GRPCServicePrefix(spec.prefix):
		return spec, fmt.Errorf("match.grpc needs a prefix naming a gRPC service (/package.Service/), got %q", spec.prefix)
	case len(m.GetDynamicMetadata()) > 0, m.GetTlsContext() != nil, len(m.GetFilterState()) > 0:
		return spec, errors.New("match: only prefix matching is supported")
	}
	ra := rt.GetRoute()
	if ra == nil {
		return spec, fmt.Errorf("action: only route is supported, got %s", oneofName(rt, "action"))
	}
	switch cs := ra.GetClusterSpecifier().(type) {
	case *routev3.RouteAction_Cluster:
		spec.arms = []armSpec{{cluster: cs.Cluster, weight: 1}}
	case *routev3.RouteAction_WeightedClusters:
		wc := cs.WeightedClusters
		var sum uint64
		for i, c := range wc.GetClusters() {
			if c.GetName() == "" {
				return spec, fmt.Errorf("weighted_clusters.clusters[%d]: only name is supported, not cluster_header", i)
			}
			spec.arms = append(spec.arms, armSpec{cluster: c.GetName(), weight: c.GetWeight().GetValue()})
			sum += uint64(c.GetWeight().GetValue())
		}
		if sum == 0 {
			return spec, errors.New("weighted_clusters: weights must sum to more than 0")
		}
		switch rv := wc.GetRandomValueSpecifier().(type) {
		case *routev3.WeightedCluster_UseHashPolicy:
			if rv.UseHashPolicy.GetValue() {
				s, err := stickyOf(ra.GetHashPolicy())
				if err != nil {
					return spec, err
				}
				spec.sticky = s
			}
		case *routev3.WeightedCluster_HeaderName:
			spec.sticky = &config.Sticky{Header: rv.HeaderName}
		}
	default:
		return spec, fmt.Errorf("route: only cluster and weighted_clusters are supported, got %s", oneofName(ra, "cluster_specifier"))
	}
	switch mp := ra.GetRequestMirrorPolicies(); len(mp) {
	case 0:
	case 1:
		p := mp[0]
		if p.GetCluster() == "" {
			return spec, errors.New("request_mirror_policies[0]: only cluster is supported, not cluster_header")
		}
		f, err := fractionOf(p.GetRuntimeFraction())
		if err != nil {
			return spec, fmt.Errorf("request_mirror_policies[0].runtime_fraction: %w", err)
		}
		spec.mirror = &mirrorSpec{cluster: p.GetCluster(), fraction: f}
	default:
		return spec, fmt.Errorf("request_mirror_policies: driftcar mirrors to one shadow per route, got %d policies", len(mp))
	}
	return spec, nil
}

// stickyOf maps the first header, cookie or query_parameter hash policy
// onto a sticky key.
func stickyOf(policies []*routev3.RouteAction_HashPolicy) (*config.Sticky, error) {
	for _, p := range policies {
		switch ps := p.GetPolicySpecifier().(type) {
		case *routev3.RouteAction_HashPolicy_Header_:
			return &config.Sticky{Header: ps.Header.GetHeaderName()}, nil
		case *routev3.RouteAction_HashPolicy_Cookie_:
			return &config.Sticky{Cookie: ps.Cookie.GetName()}, nil
		case *routev3.RouteAction_HashPolicy_QueryParameter_:
			return &config.Sticky{Query: ps.QueryParameter.GetName()}, nil
		}
	}
	return nil, errors.New("weighted_clusters.use_hash_policy: hash_policy needs a header, cookie or query_parameter policy")
}

var denominators = map[typev3.FractionalPercent_DenominatorType]float64{
	typev3.FractionalPercent_HUNDRED:      100,
	typev3.FractionalPercent_TEN_THOUSAND: 10_000,
	typev3.FractionalPercent_MILLION:      1_000_000,
}

func fractionOf(rf *corev3.RuntimeFractionalPercent) (float64, error) {
	if rf == nil {
		return 1, nil
	}
	dv := rf.GetDefaultValue()
	den, ok := denominators[dv.GetDenominator()]
	if !ok {
		return 0, fmt.Errorf("unknown denominator %v", dv.GetDenominator())
	}
	if float64(dv.GetNumerator()) > den {
		return 0, fmt.Errorf("numerator %d exceeds the denominator %v", dv.GetNumerator(), dv.GetDenominator())
	}
	return float64(dv.GetNumerator()) / den, nil
}

func oneofName(m proto.Message, oneof string) string {
	r := m.ProtoReflect()
	od := r.Descriptor().Oneofs().ByName(protoreflect.Name(oneof))
	if od == nil {
		return "nothing"
	}
	if f := r.WhichOneof(od); f != nil {
		return string(f.Name())
	}
	return "nothing"
}

func decodeCluster(c *clusterv3.Cluster) (*clusterRes, error) {
	r := &clusterRes{name: c.GetName()}
	if c.GetTransportSocket() != nil || len(c.GetTransportSocketMatches()) > 0 {
		return nil, errors.New("transport_socket: TLS to upstreams is not supported")
	}
	switch c.GetType() {
	case clusterv3.Cluster_EDS:
		if c.GetClusterType() != nil {
			return nil, errors.New("cluster_type: custom cluster types are not supported")
		}
		r.eds = cmp.Or(c.GetEdsClusterConfig().GetServiceName(), c.GetName())
	case clusterv3.Cluster_STATIC, clusterv3.Cluster_STRICT_DNS, clusterv3.Cluster_LOGICAL_DNS:
		if c.GetClusterType() != nil {
			return nil, errors.New("cluster_type: custom cluster types are not supported")
		}
		addrs, err := usableAddresses(c.GetLoadAssignment())
		if err != nil {
			return nil, fmt.Errorf("load_assignment: %w", err)
		}
		r.inline = addrs
	default:
		return nil, fmt.Errorf("type %v is not supported (use EDS, STATIC, STRICT_DNS or LOGICAL_DNS)", c.GetType())
	}
	if d := c.GetConnectTimeout(); d != nil {
		r.connectTimeout = d.AsDuration()
	}
	for _, t := range c.GetCircuitBreakers().GetThresholds() {
		if t.GetPriority() == corev3.RoutingPriority_DEFAULT && t.GetMaxConnections() != nil {
			r.maxConns = int(min(t.GetMaxConnections().GetValue(), math.MaxInt32))
		}
	}
	if a, ok := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]; ok && a.GetTypeUrl() == httpOptionsType {
		o := &httpv3.HttpProtocolOptions{}
		if err := a.UnmarshalTo(o); err != nil {
			return nil, fmt.Errorf("typed_extension_protocol_options: %w", err)
		}
		if d := o.GetCommonHttpProtocolOptions().GetIdleTimeout(); d != nil {
			r.idleTimeout = d.AsDuration()
		}
		h2, err := speaksHTTP2(o)
		if err != nil {
			return nil, fmt.Errorf("typed_extension_protocol_options: %w", err)
		}
		r.http2 = h2
	}
	//nolint:staticcheck // the deprecated field still marks many gRPC clusters
	if h2 := c.GetHttp2ProtocolOptions(); h2 != nil {
		if err := checkHTTP2(h2); err != nil {
			return nil, fmt.Errorf("http2_protocol_options: %w", err)
		}
		r.http2 = true
	}
	return r, nil
}

// speaksHTTP2 reports whether a cluster's HTTP protocol options send
// HTTP/2 upstream: explicit http2_protocol_options, or the downstream's
// protocol with HTTP/2 options (the gRPC listener's calls are HTTP/2).
// HTTP/3 is an error; auto_config (ALPN, which needs TLS) stays HTTP/1.
func speaksHTTP2(o *httpv3.HttpProtocolOptions) (bool, error) {
	switch u := o.GetUpstreamProtocolOptions().(type) {
	case *httpv3.HttpProtocolOptions_ExplicitHttpConfig_:
		if u.ExplicitHttpConfig.GetHttp3ProtocolOptions() != nil {
			return false, errors.New("explicit_http_config.http3_protocol_options: HTTP/3 upstreams are not supported")
		}
		h2 := u.ExplicitHttpConfig.GetHttp2ProtocolOptions()
		if err := checkHTTP2(h2); err != nil {
			return false, fmt.Errorf("explicit_http_config.http2_protocol_options: %w", err)
		}
		return h2 != nil, nil
	case *httpv3.HttpProtocolOptions_UseDownstreamProtocolConfig:
		if u.UseDownstreamProtocolConfig.GetHttp3ProtocolOptions() != nil {
			return false, errors.New("use_downstream_protocol_config.http3_protocol_options: HTTP/3 upstreams are not supported")
		}
		h2 := u.UseDownstreamProtocolConfig.GetHttp2ProtocolOptions()
		if err := checkHTTP2(h2); err != nil {
			return false, fmt.Errorf("use_downstream_protocol_config.http2_protocol_options: %w", err)
		}
		return h2 != nil, nil
	case *httpv3.HttpProtocolOptions_AutoConfig:
		if u.AutoConfig.GetHttp3ProtocolOptions() != nil {
			return false, errors.New("auto_config.http3_protocol_options: HTTP/3 upstreams are not supported")
		}
	}
	return false, nil
}

// http2Tuning are the Http2ProtocolOptions fields that only tune Envoy's
// own codec; driftcar's gRPC relay keeps its own defaults for them.
// Any other field set is a NACK.
var http2Tuning = []protoreflect.Name{
	"hpack_table_size", "max_concurrent_streams", "initial_stream_window_size",
	"initial_connection_window_size", "max_outbound_frames", "max_outbound_control_frames",
	"max_consecutive_inbound_frames_with_empty_payload", "max_inbound_priority_frames_per_stream",
	"max_inbound_window_update_frames_per_data_frame_sent", "stream_error_on_invalid_http_messaging",
	"override_stream_error_on_invalid_http_message", "connection_keepalive", "use_oghttp2_codec",
	"max_metadata_size", "enable_huffman_encoding", "max_header_field_size_kb", "disallow_obs_text",
}

// checkHTTP2 rejects the HTTP/2 options driftcar cannot honour, such as
// extended CONNECT, METADATA frames and custom SETTINGS.
func checkHTTP2(o *corev3.Http2ProtocolOptions) error {
	if o == nil {
		return nil
	}
	var bad []string
	o.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		if !slices.Contains(http2Tuning, fd.Name()) {
			bad = append(bad, string(fd.Name()))
		}
		return true
	})
	if len(bad) > 0 {
		return fmt.Errorf("%s: not supported: driftcar's gRPC relay cannot honour it", strings.Join(bad, ", "))
	}
	return nil
}

// usableAddresses returns the host:port of every endpoint that may take
// traffic: healthy or unknown ones first, then degraded ones, each group
// in priority order and then in the order given.
func usableAddresses(cla *endpointv3.ClusterLoadAssignment) ([]string, error) {
	type cand struct {
		addr     string
		rank     int
		priority uint32
		order    int
	}
	var cands []cand
	for li, loc := range cla.GetEndpoints() {
		for ei, lb := range loc.GetLbEndpoints() {
			rank := 0
			switch lb.GetHealthStatus() {
			case corev3.HealthStatus_UNKNOWN, corev3.HealthStatus_HEALTHY:
			case corev3.HealthStatus_DEGRADED:
				rank = 1
			default:
				continue
			}
			sa := lb.GetEndpoint().GetAddress().GetSocketAddress()
			if sa == nil {
				return nil, fmt.Errorf("endpoints[%d].lb_endpoints[%d]: only socket_address endpoints are supported", li, ei)
			}
			if _, ok := sa.GetPortSpecifier().(*corev3.SocketAddress_PortValue); !ok {
				return nil, fmt.Errorf("endpoints[%d].lb_endpoints[%d]: only port_value is supported", li, ei)
			}
			addr := net.JoinHostPort(sa.GetAddress(), strconv.FormatUint(uint64(sa.GetPortValue()), 10))
			cands = append(cands, cand{addr, rank, loc.GetPriority(), len(cands)})
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.priority, b.priority), cmp.Compare(a.order, b.order))
	})
	addrs := make([]string, len(cands))
	for i, c := range cands {
		addrs[i] = c.addr
	}
	return addrs, nil
}

// decodeExtension returns the config document the TypedStruct carries.
func decodeExtension(ext *corev3.TypedExtensionConfig) (map[string]any, error) {
	tc := ext.GetTypedConfig()
	var typeURL string
	var value *structpb.Struct
	switch tc.GetTypeUrl() {
	case apiTypePrefix + "xds.type.v3.TypedStruct":
		ts := &xdstypev3.TypedStruct{}
		if err := tc.UnmarshalTo(ts); err != nil {
			return nil, fmt.Errorf("typed_config: %w", err)
		}
		typeURL, value = ts.GetTypeUrl(), ts.GetValue()
	case apiTypePrefix + "udpa.type.v1.TypedStruct":
		ts := &udpatypev1.TypedStruct{}
		if err := tc.UnmarshalTo(ts); err != nil {
			return nil, fmt.Errorf("typed_config: %w", err)
		}
		typeURL, value = ts.GetTypeUrl(), ts.GetValue()
	default:
		return nil, fmt.Errorf("typed_config must be an xds.type.v3.TypedStruct, got %q", tc.GetTypeUrl())
	}
	if typeURL != ConfigTypeURL {
		return nil, fmt.Errorf("typed_config.type_url must be %q, got %q", ConfigTypeURL, typeURL)
	}
	return value.AsMap(), nil
}
