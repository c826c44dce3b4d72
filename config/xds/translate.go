package xds

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/driftcar/driftcar/config"
)

// view is the accepted state of every kind: decoded resources by name.
// A view is never modified once built; with returns a changed copy.
type view struct {
	res [numKinds]map[string]any
	// known reports that a response of the kind was accepted, so that
	// the kind's state is authoritative (for clusters: upstreams come
	// from xDS only).
	known [numKinds]bool
}

func newView() *view {
	v := &view{}
	for k := range numKinds {
		v.res[k] = map[string]any{}
	}
	return v
}

// with returns a copy of v where kind k holds decoded. full replaces the
// kind's state (Listener and Cluster responses, and wildcard
// subscriptions); otherwise the decoded resources are upserted. The copy
// then drops the EDS and RDS resources no parent names any more.
func (v *view) with(k kind, decoded map[string]any, full bool) *view {
	n := &view{known: v.known}
	n.res = v.res
	if full {
		n.res[k] = decoded
	} else {
		m := maps.Clone(v.res[k])
		maps.Copy(m, decoded)
		n.res[k] = m
	}
	n.known[k] = true
	n.gc()
	return n
}

// gc removes ClusterLoadAssignments no cluster names, and, when listeners
// name route configurations, the RouteConfigurations none names.
func (v *view) gc() {
	keep := func(k kind, names []string) {
		if len(v.res[k]) == 0 {
			return
		}
		m := maps.Clone(v.res[k])
		for name := range m {
			if !slices.Contains(names, name) {
				delete(m, name)
			}
		}
		v.res[k] = m
	}
	keep(kindEndpoint, v.edsNames())
	if names, named := v.rdsNames(); named {
		keep(kindRoute, names)
	}
}

// edsNames are the ClusterLoadAssignments the EDS clusters need, sorted.
func (v *view) edsNames() []string {
	var names []string
	for _, r := range v.res[kindCluster] {
		if c := r.(*clusterRes); c.eds != "" && !slices.Contains(names, c.eds) {
			names = append(names, c.eds)
		}
	}
	slices.Sort(names)
	return names
}

// rdsNames are the RouteConfigurations the listeners name, in the order
// of listener names and then of their filters. named is false when no
// listener names one.
func (v *view) rdsNames() (names []string, named bool) {
	for _, ln := range slices.Sorted(maps.Keys(v.res[kindListener])) {
		for _, rc := range v.res[kindListener][ln].(*listenerRes).routeConfigs {
			if !slices.Contains(names, rc) {
				names = append(names, rc)
			}
		}
	}
	return names, len(names) > 0
}

// routes returns the routes in use: those of the RouteConfigurations the
// listeners name, in that order, or else of every RouteConfiguration by
// name.
func (v *view) routes() []routeSpec {
	names, named := v.rdsNames()
	if !named {
		names = slices.Sorted(maps.Keys(v.res[kindRoute]))
	}
	var out []routeSpec
	for _, n := range names {
		if r, ok := v.res[kindRoute][n]; ok {
			out = append(out, r.(*routeConfigRes).routes...)
		}
	}
	return out
}

func (v *view) names(k kind) []string { return slices.Sorted(maps.Keys(v.res[k])) }

// placeholderAddress stands in for an upstream that xDS has not delivered
// while the config is validated; the entry is removed afterwards.
const placeholderAddress = "xds-pending.invalid:1"

// errNoRoutes means the state has no route yet: nothing to apply.
var errNoRoutes = errors.New("no routes")

// build turns the base document and the xDS state into a config, using
// config.Parse on the merged document so that every rule and message of
// the file format applies. notes describe degraded parts, such as arms
// whose cluster has not arrived.
func build(base map[string]any, v *view, ext string) (*config.Config, []string, error) {
	doc := cloneMap(base)
	if e, ok := v.res[kindExtension][ext]; ok {
		doc = mergePatch(doc, e.(*extensionRes).doc)
	}
	var notes []string
	fromXDS := v.known[kindCluster]
	if fromXDS {
		ups, n := upstreamsDoc(asMap(doc["upstreams"]), v)
		doc["upstreams"] = ups
		notes = append(notes, n...)
	}
	if specs := v.routes(); len(specs) > 0 {
		doc["routes"] = routesDoc(asList(doc["routes"]), specs)
	}
	if len(asList(doc["routes"])) == 0 {
		return nil, notes, errNoRoutes
	}
	var placeholders []string
	if fromXDS {
		placeholders, notes = fillMissing(doc, notes)
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, notes, fmt.Errorf("cannot encode config document: %w", err)
	}
	cfg, err := config.Parse(data)
	if err != nil {
		return nil, notes, configError(err)
	}
	for _, name := range placeholders {
		delete(cfg.Upstreams, name)
	}
	return cfg, notes, nil
}

// upstreamsDoc builds the upstreams section from the clusters. Entries of
// the base or ECDS document with the same name are templates for the
// settings xDS does not carry (timeout); a cluster without a usable
// endpoint is left out, so arms naming it answer 503.
func upstreamsDoc(templates map[string]any, v *view) (map[string]any, []string) {
	ups := map[string]any{}
	var notes []string
	for _, name := range v.names(kindCluster) {
		c := v.res[kindCluster][name].(*clusterRes)
		addrs := c.inline
		if c.eds != "" {
			e, ok := v.res[kindEndpoint][c.eds]
			if !ok {
				notes = append(notes, fmt.Sprintf("cluster %q: ClusterLoadAssignment %q not received; the upstream is unavailable", name, c.eds))
				continue
			}
			addrs = e.(*endpointRes).addresses
		}
		if len(addrs) == 0 {
			notes = append(notes, fmt.Sprintf("cluster %q: no healthy endpoint; the upstream is unavailable", name))
			continue
		}
		u := cloneMap(asMap(templates[name]))
		u["address"] = addrs[0]
		if len(addrs) > 1 {
			list := make([]any, len(addrs))
			for i, a := range addrs {
				list[i] = a
			}
			u["addresses"] = list
		} else {
			delete(u, "addresses")
		}
		if c.connectTimeout > 0 {
			u["connect_timeout"] = durationString(c.connectTimeout)
		}
		if c.idleTimeout > 0 {
			u["idle_timeout"] = durationString(c.idleTimeout)
		}
		if c.maxConns > 0 {
			u["max_conns"] = c.maxConns
		}
		if c.http2 {
			// The gRPC relay connects to one address: the best endpoint.
			u["grpc_address"] = addrs[0]
		} else {
			delete(u, "grpc_address")
		}
		ups[name] = u
	}
	return ups, notes
}

// routeFields are the route keys that RDS owns; a template's values for
// them are replaced.
var routeFields = []string{"match", "split", "sticky"}

// routesDoc builds the routes section from the xDS routes. The entry of
// the base or ECDS document with the same name is a template for what
// RDS does not carry: protocol, sample, fallback, arm_override and the
// shadow settings other than upstream and fraction.
func routesDoc(templates []any, specs []routeSpec) []any {
	byName := map[string]map[string]any{}
	for _, t := range templates {
		if m := asMap(t); m != nil {
			if n, ok := m["name"].(string); ok {
				if _, dup := byName[n]; !dup {
					byName[n] = m
				}
			}
		}
	}
	routes := make([]any, 0, len(specs))
	for _, s := range specs {
		r := cloneMap(byName[s.name])
		for _, k := range routeFields {
			delete(r, k)
		}
		r["name"] = s.name
		r["match"] = map[string]any{"path_prefix": s.prefix}
		split := make([]any, len(s.arms))
		for i, a := range s.arms {
			split[i] = map[string]any{"upstream": a.cluster, "weight": a.weight}
		}
		r["split"] = split
		if st := s.sticky; st != nil {
			sticky := map[string]any{}
			for k, val := range map[string]string{"header": st.Header, "cookie": st.Cookie, "query": st.Query} {
				if val != "" {
					sticky[k] = val
				}
			}
			r["sticky"] = sticky
		}
		if m := s.mirror; m != nil {
			sh := cloneMap(asMap(r["shadow"]))
			sh["upstream"] = m.cluster
			sh["fraction"] = m.fraction
			r["shadow"] = sh
		} else {
			delete(r, "shadow")
		}
		routes = append(routes, r)
	}
	return routes
}

// fillMissing adds a placeholder upstream for every arm naming a cluster
// that is not (yet) known, so that validation passes and the proxy
// answers 503 for it, and drops shadows whose cluster is not known:
// nothing is mirrored to a missing cluster. It returns the placeholders.
func fillMissing(doc map[string]any, notes []string) ([]string, []string) {
	ups := asMap(doc["upstreams"])
	if ups == nil {
		ups = map[string]any{}
		doc["upstreams"] = ups
	}
	known := slices.Collect(maps.Keys(ups))
	var placeholders []string
	for _, rt := range asList(doc["routes"]) {
		r := asMap(rt)
		for _, a := range asList(r["split"]) {
			name, _ := asMap(a)["upstream"].(string)
			if name == "" || slices.Contains(known, name) || slices.Contains(placeholders, name) {
				continue
			}
			placeholders = append(placeholders, name)
			ph := map[string]any{"address": placeholderAddress}
			if m := asMap(r["match"]); m != nil {
				if p, _ := m["path_prefix"].(string); config.GRPCServicePrefix(p) {
					ph["grpc_address"] = placeholderAddress // a gRPC route needs one on every arm
				}
			}
			ups[name] = ph
			notes = append(notes, fmt.Sprintf("route %v: cluster %q not known; its arm answers 503 until it arrives", r["name"], name))
		}
		if sh := asMap(r["shadow"]); sh != nil {
			if name, _ := sh["upstream"].(string); name != "" && !slices.Contains(known, name) {
				delete(r, "shadow")
				notes = append(notes, fmt.Sprintf("route %v: shadow cluster %q not known; not mirroring until it arrives", r["name"], name))
			}
		}
	}
	return placeholders, notes
}

// configError flattens config.Errors to one line without the line numbers
// of the merged document, which mean nothing to the control plane.
func configError(err error) error {
	var es config.Errors
	if !errors.As(err, &es) {
		return err
	}
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Msg
		if e.Path != "" {
			msgs[i] = e.Path + ": " + e.Msg
		}
	}
	return errors.New(strings.Join(msgs, "; "))
}

// parseBase decodes the base YAML into a document.
func parseBase(data []byte) (map[string]any, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("cannot parse YAML: %w", err)
	}
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := JSONValue(v).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("config must be a mapping, got %T", v)
	}
	return m, nil
}

// JSONValue turns what yaml.v3 decodes into JSON-compatible values:
// string-keyed maps throughout, and any scalar JSON has no type for as
// its text. The control plane uses it too, for the ECDS document.
func JSONValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = JSONValue(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = JSONValue(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = JSONValue(e)
		}
		return t
	case int, int64, uint64, float64, string, bool, nil:
		return t
	}
	return fmt.Sprint(v)
}

// mergePatch applies patch to doc as a JSON merge patch (RFC 7396):
// mappings merge key by key, a null deletes the key, and any other value,
// lists included, replaces the old one. Neither input is modified.
func mergePatch(doc, patch map[string]any) map[string]any {
	out := cloneMap(doc)
	for k, pv := range patch {
		switch pm, isMap := pv.(map[string]any); {
		case pv == nil:
			delete(out, k)
		case isMap:
			out[k] = mergePatch(asMap(out[k]), pm)
		default:
			out[k] = cloneValue(pv)
		}
	}
	return out
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return cloneMap(t)
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = cloneValue(e)
		}
		return l
	}
	return v
}

func durationString(d time.Duration) string { return config.Duration(d).String() }
