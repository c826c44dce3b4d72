package config

import (
	"maps"
	"slices"
	"strings"
)

// maxGRPCMessage bounds the gRPC message limits; the relay takes an int and
// a typo should not reserve gigabytes.
const maxGRPCMessage = 1 << 30

// ServesGRPC reports whether route r is served by the gRPC listener: its
// path prefix names a gRPC service ("/pkg.Service/...") or one of its
// arms' upstreams has a grpc_address. Such a route needs a grpc_address
// on every arm.
func ServesGRPC(r *Route, ups map[string]Upstream) bool {
	if GRPCServicePrefix(r.Match.PathPrefix) {
		return true
	}
	for _, a := range r.Split {
		if ups[a.Upstream].GRPCAddress != "" {
			return true
		}
	}
	return false
}

// GRPCServicePrefix reports whether prefix names a gRPC service: its
// first path segment is a dotted name such as inference.GRPCInferenceService.
func GRPCServicePrefix(prefix string) bool {
	seg, _, _ := strings.Cut(strings.TrimPrefix(prefix, "/"), "/")
	return strings.Contains(seg, ".") && !strings.HasPrefix(seg, ".")
}

// grpc checks the gRPC listener settings and, when it is on, that every
// arm of a route it serves has a grpc_address.
func (v *validator) grpc(c *Config) {
	root := rootPath
	g := root.key("grpc")
	for _, lim := range []struct {
		key string
		val ByteSize
	}{{"max_recv_message_bytes", c.GRPC.MaxRecvMessageBytes}, {"max_send_message_bytes", c.GRPC.MaxSendMessageBytes}} {
		if lim.val < 1<<10 || lim.val > maxGRPCMessage {
			v.add(g.key(lim.key), "must be in 1KiB..1GiB, got %s", lim.val)
		}
	}
	ups := root.key("upstreams")
	for _, name := range slices.Sorted(maps.Keys(c.Upstreams)) {
		if u := c.Upstreams[name]; u.GRPCAddress != "" {
			v.dialAddr(ups.key(name).key("grpc_address"), u.GRPCAddress)
		}
	}
	if c.GRPCListen == "" {
		return
	}
	lp := root.key("grpc_listen")
	v.listenAddr(lp, c.GRPCListen)
	if conflicts(c.GRPCListen, c.Listen) {
		v.add(lp, "%q conflicts with listen %q", c.GRPCListen, c.Listen)
	}
	if conflicts(c.GRPCListen, c.Admin) {
		v.add(lp, "%q conflicts with admin %q", c.GRPCListen, c.Admin)
	}
	served := false
	routes := root.key("routes")
	for i := range c.Routes {
		r := &c.Routes[i]
		if !ServesGRPC(r, c.Upstreams) {
			continue
		}
		served = true
		for j, a := range r.Split {
			u, ok := c.Upstreams[a.Upstream]
			if ok && u.GRPCAddress == "" {
				v.add(routes.index(i).key("split").index(j).key("upstream"),
					"upstream %q has no grpc_address, but route %q serves gRPC", a.Upstream, r.Name)
			}
		}
	}
	if !served && len(c.Routes) > 0 {
		v.add(lp, "no route serves gRPC: give the upstreams of a route a grpc_address")
	}
}
