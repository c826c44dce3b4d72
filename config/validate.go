package config

import (
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/driftcar/driftcar/internal/rate"
)

const (
	// maxModelLen bounds the model label value, in bytes.
	maxModelLen = 128
	// maxWeight bounds one arm's weight, so that sums never overflow.
	maxWeight = 1_000_000
)

// nameSyntax is the form of upstream and route names, which become metric
// label values.
const nameSyntax = `^[a-z0-9][a-z0-9_.-]{0,62}$`

var nameRE = regexp.MustCompile(nameSyntax)

// Validate checks c as it is, without filling defaults: a zero timeout is
// an error. It returns Errors, whose problems have paths but no lines.
// Parse already validates; Validate is for configs built in code.
func (c *Config) Validate() error {
	return validate(c, nil, ParseOptions{}).orNil()
}

// validator collects the problems of one config.
type validator struct {
	lines        lineIndex
	errs         Errors
	emptyRouting bool // accept no upstreams and no routes
	// lookupEnv reads the variables that credentials name.
	lookupEnv func(string) (string, bool)
}

func (v *validator) add(p *fieldPath, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Path: p.String(), Line: v.lines.lineOf(p), Msg: fmt.Sprintf(format, args...)})
}

// validate returns every problem of c; lines locates them in the input.
func validate(c *Config, lines lineIndex, o ParseOptions) Errors {
	v := &validator{lines: lines, emptyRouting: o.AllowEmptyRouting, lookupEnv: os.LookupEnv}
	root := rootPath
	v.listenAddr(root.key("listen"), c.Listen)
	v.listenAddr(root.key("admin"), c.Admin)
	if conflicts(c.Listen, c.Admin) {
		v.add(root.key("admin"), "%q conflicts with listen %q", c.Admin, c.Listen)
	}
	v.model(root.key("model"), c.Model)
	if c.AdminToken != "" && c.AdminTokenEnv != "" {
		v.add(root.key("admin_token_env"), "must not be set with admin_token")
	}
	if c.AdminTokenEnv != "" && !envNameRE.MatchString(c.AdminTokenEnv) {
		v.add(root.key("admin_token_env"), "must be an environment variable name, got %q", c.AdminTokenEnv)
	}
	if c.MaxRequestBody <= 0 {
		v.add(root.key("max_request_body"), "must be > 0")
	}
	if c.DrainTimeout <= 0 {
		v.add(root.key("drain_timeout"), "must be > 0")
	}
	cl := root.key("client")
	for _, d := range []struct {
		key string
		val Duration
	}{{"read_timeout", c.Client.ReadTimeout}, {"write_timeout", c.Client.WriteTimeout}, {"idle_timeout", c.Client.IdleTimeout}} {
		if d.val <= 0 {
			v.add(cl.key(d.key), "must be > 0")
		}
	}
	if c.Client.MaxHeaderBytes < 1024 || c.Client.MaxHeaderBytes > 1<<20 {
		v.add(cl.key("max_header_bytes"), "must be in 1KiB..1MiB, got %s", c.Client.MaxHeaderBytes)
	}
	v.upstreams(root.key("upstreams"), c.Upstreams)
	v.grpc(c)
	v.routes(root.key("routes"), c.Routes, c.Upstreams)
	v.features(c)
	v.payloadSettings(c)
	v.drift(root.key("drift"), &c.Drift, c.Sketch)
	if c.CanaryGuard != nil {
		v.canaryGuard(root.key("canary_guard"), c)
	}
	if c.Log != nil {
		v.log(root.key("log"), c.Log)
	}
	if c.GroundTruth != nil {
		v.groundTruth(root.key("ground_truth"), c)
	}
	for i, r := range c.Routes {
		if r.Log == nil {
			continue
		}
		lp := root.key("routes").index(i).key("log")
		if c.Log == nil {
			v.add(lp, "needs a top-level log section with its sinks")
		}
		if f := r.Log.Fraction; f != nil && !(*f >= 0 && *f <= 1) {
			v.add(lp.key("fraction"), "must be in 0..1, got %v", *f)
		}
	}
	samples := root.key("shadow_samples")
	if c.ShadowSamples.Keep < 0 || c.ShadowSamples.Keep > 10_000 {
		v.add(samples.key("keep"), "must be in 0..10000, got %d", c.ShadowSamples.Keep)
	}
	if c.ShadowSamples.MaxBody < 0 || c.ShadowSamples.MaxBody > 1<<20 {
		v.add(samples.key("max_body"), "must be in 0..1MiB, got %s", c.ShadowSamples.MaxBody)
	}
	return v.errs
}

// listenAddr checks a host:port to listen on. The host may be empty and
// port 0 picks a free port.
func (v *validator) listenAddr(p *fieldPath, addr string) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(p, "must be host:port, got %q", addr)
		return
	}
	if !validPort(port, 0) {
		v.add(p, "port must be a number in 0..65535, got %q", port)
	}
}

// dialAddr checks a host:port to connect to: both parts are required.
func (v *validator) dialAddr(p *fieldPath, addr string) {
	host, port, err := net.SplitHostPort(addr)
	switch {
	case err != nil:
		v.add(p, "must be host:port, got %q", addr)
	case host == "":
		v.add(p, "host must not be empty, got %q", addr)
	case !validPort(port, 1):
		v.add(p, "port must be a number in 1..65535, got %q", port)
	}
}

func validPort(port string, low int) bool {
	if port == "" || strings.TrimLeft(port, "0123456789") != "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= low && n <= 65535
}

// conflicts reports whether two listen addresses would bind the same port:
// the same host, or a wildcard host on either side.
func conflicts(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb || !validPort(pa, 1) {
		return false
	}
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wildcard(ha) || wildcard(hb)
}

// model checks the model name, which is a Prometheus label value.
func (v *validator) model(p *fieldPath, model string) {
	switch {
	case model == "":
		v.add(p, "must not be empty")
	case len(model) > maxModelLen:
		v.add(p, "must be at most %d bytes, got %d", maxModelLen, len(model))
	case !utf8.ValidString(model):
		v.add(p, "must be valid UTF-8")
	}
}

func (v *validator) upstreams(p *fieldPath, ups map[string]Upstream) {
	if len(ups) == 0 {
		if !v.emptyRouting {
			v.add(p, "at least one upstream is required")
		}
		return
	}
	for _, name := range slices.Sorted(maps.Keys(ups)) {
		u, q := ups[name], p.key(name)
		if !validName(name) {
			v.add(q, "name must match %s", nameSyntax)
		}
		switch {
		case u.Address == "" && len(u.Addresses) == 0:
			v.add(q.key("address"), "required")
		case u.Address != "":
			v.dialAddr(q.key("address"), u.Address)
			if len(u.Addresses) > 0 && !slices.Contains(u.Addresses, u.Address) {
				v.add(q.key("address"), "must be one of addresses, got %q", u.Address)
			}
		}
		for i, a := range u.Addresses {
			v.dialAddr(q.key("addresses").index(i), a)
		}
		if len(u.Addresses) > 256 {
			v.add(q.key("addresses"), "at most 256 addresses, got %d", len(u.Addresses))
		}
		if u.Timeout <= 0 {
			v.add(q.key("timeout"), "must be > 0")
		}
		if u.ConnectTimeout <= 0 {
			v.add(q.key("connect_timeout"), "must be > 0")
		}
		if u.MaxConns < 1 {
			v.add(q.key("max_conns"), "must be >= 1")
		}
		if u.IdleTimeout <= 0 {
			v.add(q.key("idle_timeout"), "must be > 0")
		}
		if u.StreamIdleTimeout < 0 {
			v.add(q.key("stream_idle_timeout"), "must be > 0, got %s", u.StreamIdleTimeout)
		}
	}
}

func (v *validator) routes(p *fieldPath, routes []Route, ups map[string]Upstream) {
	if len(routes) == 0 {
		if !v.emptyRouting {
			v.add(p, "at least one route is required")
		}
		return
	}
	firstByName := map[string]int{}
	for i, r := range routes {
		q := p.index(i)
		switch name := q.key("name"); {
		case r.Name == "":
			v.add(name, "required")
		case !validName(r.Name):
			v.add(name, "must match %s, got %q", nameSyntax, r.Name)
		default:
			if first, dup := firstByName[r.Name]; dup {
				v.add(name, "duplicate route name %q (first at %s)", r.Name, p.index(first))
			} else {
				firstByName[r.Name] = i
			}
		}
		v.pathPrefix(q.key("match").key("path_prefix"), p, routes, i)
		v.split(q.key("split"), r.Split, ups)
		if r.Sticky != nil {
			v.sticky(q.key("sticky"), r.Sticky)
		}
		v.fallback(q.key("fallback"), r)
		if r.Shadow != nil {
			v.shadow(q.key("shadow"), r, ups)
		}
		if r.Sample != nil {
			v.sample(q.key("sample"), r.Sample)
		}
	}
}

// maxSampleWorkers bounds the decoding goroutines of one route.
const maxSampleWorkers = 64

func (v *validator) sample(p *fieldPath, s *Sample) {
	switch f := p.key("fraction"); {
	case s.Fraction == nil:
		v.add(f, "required")
	case !(*s.Fraction >= 0 && *s.Fraction <= 1):
		v.add(f, "must be in 0..1, got %v", *s.Fraction)
	}
	if s.Queue < 1 || s.Queue > maxShadowQueue {
		v.add(p.key("queue"), "must be in 1..%d, got %d", maxShadowQueue, s.Queue)
	}
	if s.MaxBody <= 0 {
		v.add(p.key("max_body"), "must be > 0")
	}
	if s.Workers < 1 || s.Workers > maxSampleWorkers {
		v.add(p.key("workers"), "must be in 1..%d, got %d", maxSampleWorkers, s.Workers)
	}
}

// maxFeatures bounds the monitored features, and so the label sets.
const maxFeatures = 1000

func (v *validator) features(c *Config) {
	root := rootPath
	fp := root.key("features")
	if len(c.Features) > maxFeatures {
		v.add(fp, "at most %d features, got %d", maxFeatures, len(c.Features))
	}
	first := map[string]int{}
	for i, f := range c.Features {
		q := fp.index(i)
		v.featureName(q.key("name"), f.Name)
		if j, dup := first[f.Name]; dup && f.Name != "" {
			v.add(q.key("name"), "duplicate feature %q (first at %s)", f.Name, fp.index(j))
		} else {
			first[f.Name] = i
		}
		v.featureType(q.key("type"), f.Type, true)
		if f.Column < 0 {
			v.add(q.key("column"), "must be >= 0, got %d", f.Column)
		}
	}
	if pr := c.Prediction; pr != nil {
		q := root.key("prediction")
		v.featureType(q.key("type"), pr.Type, true)
		if pr.Name != "" {
			v.featureName(q.key("name"), pr.Name)
			if _, dup := first[pr.Name]; dup {
				v.add(q.key("name"), "%q is also a feature name", pr.Name)
			}
		}
	}
	sampled := ""
	for i, r := range c.Routes {
		if r.Sample != nil && sampled == "" {
			sampled = root.key("routes").index(i).key("sample").String()
		}
	}
	ref := c.Reference
	switch {
	case sampled == "":
	case len(c.Features) == 0 && c.Prediction == nil:
		v.add(fp, "at least one feature or a prediction is required when a route samples (%s)", sampled)
	case ref == nil:
		v.add(root.key("reference"), "required when a route samples (%s)", sampled)
	}
	if ref != nil {
		q := root.key("reference")
		if ref.File == "" && ref.Learn == nil {
			v.add(q, "must set file, learn, or both")
		}
		if l := ref.Learn; l != nil {
			if l.Samples < 100 {
				v.add(q.key("learn").key("samples"), "must be >= 100, got %d", l.Samples)
			}
			if l.Bins < 2 || l.Bins > 1000 {
				v.add(q.key("learn").key("bins"), "must be in 2..1000, got %d", l.Bins)
			}
		}
	}
	sk := root.key("sketch")
	if c.Sketch.Slices < 1 || c.Sketch.Slices > 10_000 {
		v.add(sk.key("slices"), "must be in 1..10000, got %d", c.Sketch.Slices)
	}
	if c.Sketch.SliceDuration < Duration(time.Second) {
		v.add(sk.key("slice_duration"), "must be >= 1s, got %s", c.Sketch.SliceDuration)
	}
}

func (v *validator) featureName(p *fieldPath, name string) {
	switch {
	case name == "":
		v.add(p, "required")
	case len(name) > 128 || !utf8.ValidString(name):
		v.add(p, "must be valid UTF-8 of at most 128 bytes")
	case strings.HasPrefix(name, "__"):
		v.add(p, `must not start with "__" (reserved), got %q`, name)
	}
}

func (v *validator) featureType(p *fieldPath, typ string, required bool) {
	switch typ {
	case TypeNumeric, TypeCategorical:
	case "":
		if required {
			v.add(p, "required")
		}
	default:
		v.add(p, "must be %s or %s, got %q", TypeNumeric, TypeCategorical, typ)
	}
}

// maxShadowQueue and maxShadowWorkers keep a typo from reserving absurd
// amounts of memory or goroutines.
const (
	maxShadowQueue   = 1 << 20
	maxShadowWorkers = 4096
)

// tokenRE is an HTTP token (RFC 9110 §5.6.2): method and header names.
var tokenRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

func (v *validator) shadow(p *fieldPath, r Route, ups map[string]Upstream) {
	s := r.Shadow
	_, known := ups[s.Upstream]
	switch {
	case s.Upstream == "":
		v.add(p.key("upstream"), "required")
	case !known:
		v.add(p.key("upstream"), "unknown upstream %q (defined: %s)", s.Upstream, upstreamNames(ups))
	}
	switch f := p.key("fraction"); {
	case s.Fraction == nil:
		v.add(f, "required")
	case !(*s.Fraction >= 0 && *s.Fraction <= 1):
		v.add(f, "must be in 0..1, got %v", *s.Fraction)
	}
	if s.Queue < 1 || s.Queue > maxShadowQueue {
		v.add(p.key("queue"), "must be in 1..%d, got %d", maxShadowQueue, s.Queue)
	}
	for _, size := range []struct {
		key string
		val ByteSize
	}{{"queue_bytes", s.QueueBytes}, {"max_body", s.MaxBody}, {"max_live_body", s.MaxLiveBody}} {
		if size.val <= 0 {
			v.add(p.key(size.key), "must be > 0")
		}
	}
	if s.QueueBytes > 0 && s.MaxBody > s.QueueBytes {
		v.add(p.key("max_body"), "must be <= queue_bytes (%s), got %s", s.QueueBytes, s.MaxBody)
	}
	if len(s.Methods) == 0 {
		v.add(p.key("methods"), "at least one method is required")
	}
	for i, m := range s.Methods {
		if !tokenRE.MatchString(m) || strings.ToUpper(m) != m {
			v.add(p.key("methods").index(i), "must be an upper-case HTTP method, got %q", m)
		}
	}
	for i, h := range s.StripHeaders {
		if !tokenRE.MatchString(h) {
			v.add(p.key("strip_headers").index(i), "must be a header name, got %q", h)
		}
	}
	// Without a known upstream, workers and pair_timeout have no default.
	if known && (s.Workers < 1 || s.Workers > maxShadowWorkers) {
		v.add(p.key("workers"), "must be in 1..%d, got %d", maxShadowWorkers, s.Workers)
	}
	if known && s.PairTimeout <= 0 {
		v.add(p.key("pair_timeout"), "must be > 0")
	}
	c := p.key("compare")
	for _, tol := range []struct {
		key string
		val *float64
	}{{"abs_tolerance", s.Compare.AbsTolerance}, {"rel_tolerance", s.Compare.RelTolerance}} {
		if tol.val != nil && !(*tol.val >= 0 && !math.IsInf(*tol.val, 1)) {
			v.add(c.key(tol.key), "must be a finite number >= 0, got %v", *tol.val)
		}
	}
}

// pathPrefix checks the prefix of routes[i], and that no earlier route
// matches every path it matches, which would make it unreachable.
func (v *validator) pathPrefix(p, routesPath *fieldPath, routes []Route, i int) {
	prefix := routes[i].Match.PathPrefix
	if !strings.HasPrefix(prefix, "/") {
		v.add(p, `must start with "/", got %q`, prefix)
		return
	}
	for j, earlier := range routes[:i] {
		e := earlier.Match.PathPrefix
		switch {
		case !strings.HasPrefix(e, "/") || !strings.HasPrefix(prefix, e):
			continue
		case e == prefix:
			v.add(p, "%q is already matched by %s", prefix, routesPath.index(j))
		default:
			v.add(p, "%q is unreachable: %s matches prefix %q first", prefix, routesPath.index(j), e)
		}
		return
	}
}

func (v *validator) split(p *fieldPath, arms []Arm, ups map[string]Upstream) {
	if len(arms) == 0 {
		v.add(p, "at least one arm is required")
		return
	}
	firstByUpstream := map[string]int{}
	sum, weightsOK := 0, true
	for i, a := range arms {
		q := p.index(i)
		up := q.key("upstream")
		switch _, defined := ups[a.Upstream]; {
		case a.Upstream == "":
			v.add(up, "required")
		case !defined:
			v.add(up, "unknown upstream %q (defined: %s)", a.Upstream, upstreamNames(ups))
		}
		if a.Upstream != "" {
			if first, dup := firstByUpstream[a.Upstream]; dup {
				v.add(up, "duplicate upstream %q (first at %s)", a.Upstream, p.index(first))
			} else {
				firstByUpstream[a.Upstream] = i
			}
		}
		w := q.key("weight")
		switch {
		case a.Weight == nil:
			v.add(w, "required")
		case *a.Weight < 0:
			v.add(w, "must be >= 0")
		case *a.Weight > maxWeight:
			v.add(w, "must be <= %d", maxWeight)
		default:
			sum += *a.Weight
			continue
		}
		weightsOK = false
	}
	if weightsOK && sum == 0 {
		v.add(p, "weights must sum to more than 0")
	}
}

func upstreamNames(ups map[string]Upstream) string {
	if len(ups) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(maps.Keys(ups)), ", ")
}

func (v *validator) sticky(p *fieldPath, s *Sticky) {
	n := 0
	for _, key := range []string{s.Header, s.Cookie, s.Query} {
		if key != "" {
			n++
		}
	}
	if n != 1 {
		v.add(p, "must set exactly one of header, cookie, query, got %d", n)
	}
}

func (v *validator) fallback(p *fieldPath, r Route) {
	if r.Fallback == FallbackNone {
		return
	}
	var arms []string
	for _, a := range r.Split {
		if a.Upstream == r.Fallback {
			return
		}
		if a.Upstream != "" && !slices.Contains(arms, a.Upstream) {
			arms = append(arms, a.Upstream)
		}
	}
	if len(arms) == 0 {
		v.add(p, `must be "none", got %q`, r.Fallback)
		return
	}
	v.add(p, `must be "none" or an upstream of the split (%s), got %q`, strings.Join(arms, ", "), r.Fallback)
}

func validName(name string) bool {
	return nameRE.MatchString(name)
}

func (v *validator) drift(p *fieldPath, d *Drift, sk Sketch) {
	slice := time.Duration(sk.SliceDuration)
	ring := slice * time.Duration(sk.Slices)
	if len(d.Windows) == 0 {
		v.add(p.key("windows"), "at least one window is required")
	}
	for i, w := range d.Windows {
		wd := time.Duration(w)
		switch {
		case wd <= 0:
			v.add(p.key("windows").index(i), "must be > 0")
		case slice > 0 && wd%slice != 0:
			v.add(p.key("windows").index(i), "must be a multiple of sketch.slice_duration (%s), got %s", sk.SliceDuration, w)
		case slice > 0 && wd > ring:
			v.add(p.key("windows").index(i), "must fit in the sketch ring (%d x %s = %s), got %s", sk.Slices, sk.SliceDuration, Duration(ring), w)
		}
	}
	if d.EvaluateEvery < Duration(time.Second) {
		v.add(p.key("evaluate_every"), "must be >= 1s, got %s", d.EvaluateEvery)
	} else if slice > 0 && slice%time.Duration(d.EvaluateEvery) != 0 {
		v.add(p.key("evaluate_every"), "must divide sketch.slice_duration (%s), got %s", sk.SliceDuration, d.EvaluateEvery)
	}
	if r, err := rate.Parse(d.FalseAlarmRate); err != nil {
		v.add(p.key("false_alarm_rate"), "must be N/<duration> such as 1/30d or 1/1w, got %q", d.FalseAlarmRate)
	} else if every := time.Duration(d.EvaluateEvery).Seconds(); every > 0 && r.PerSecond()*every >= 0.01 {
		v.add(p.key("false_alarm_rate"), "%s is more than one false alarm per 100 evaluations", d.FalseAlarmRate)
	}
	if d.MinSamples < 10 {
		v.add(p.key("min_samples"), "must be >= 10, got %d", d.MinSamples)
	}
	if d.Tests != "auto" {
		v.add(p.key("tests"), `must be "auto", got %q`, d.Tests)
	}
	if d.Correction != "holm" && d.Correction != "bh" {
		v.add(p.key("correction"), `must be "holm" or "bh", got %q`, d.Correction)
	}
	if w := d.Webhook; w != nil {
		q := p.key("webhook")
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(q.key("url"), "must be an http or https URL, got %q", w.URL)
		}
		if w.SecretEnv != "" && !envNameRE.MatchString(w.SecretEnv) {
			v.add(q.key("secret_env"), "must be an environment variable name, got %q", w.SecretEnv)
		}
		if w.Cooldown < 0 {
			v.add(q.key("cooldown"), "must be >= 0")
		}
		if w.Timeout <= 0 {
			v.add(q.key("timeout"), "must be > 0")
		}
		if w.Retries != nil && (*w.Retries < 0 || *w.Retries > 20) {
			v.add(q.key("retries"), "must be in 0..20, got %d", *w.Retries)
		}
		v.webhookTarget(q, w)
		if w.Auth != nil {
			v.webhookAuth(q.key("auth"), w.Auth)
		}
		if w.When != nil {
			v.webhookWhen(q.key("when"), w.When)
		}
	}
}

// The path segments the webhook presets put in their URLs.
var (
	dagIDRE   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,250}$`)
	dnsNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	kubeName  = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$`)
)

// webhookTarget checks the format and that exactly its block is set.
func (v *validator) webhookTarget(q *fieldPath, w *Webhook) {
	blocks := []struct {
		key, format string
		set         bool
	}{
		{"airflow", "airflow", w.Airflow != nil},
		{"argo_workflows", "argo-workflows", w.ArgoWorkflows != nil},
		{"kubeflow", "kubeflow", w.Kubeflow != nil},
	}
	switch w.Format {
	case "json", "cloudevents", "airflow", "argo-workflows", "kubeflow":
	default:
		v.add(q.key("format"), "must be json, cloudevents, airflow, argo-workflows or kubeflow, got %q", w.Format)
		return
	}
	for _, b := range blocks {
		switch {
		case b.format == w.Format && !b.set:
			v.add(q.key(b.key), "required with format %s", w.Format)
		case b.format != w.Format && b.set:
			v.add(q.key(b.key), "only applies to format %s, got format %s", b.format, w.Format)
		}
	}
	if a := w.Airflow; a != nil && w.Format == "airflow" {
		p := q.key("airflow")
		if !dagIDRE.MatchString(a.DagID) {
			v.add(p.key("dag_id"), "must be a DAG id (letters, digits, '_', '.', '-'), got %q", a.DagID)
		}
		if a.APIVersion != "v1" && a.APIVersion != "v2" {
			v.add(p.key("api_version"), "must be v1 (Airflow 2) or v2 (Airflow 3), got %q", a.APIVersion)
		}
	}
	if a := w.ArgoWorkflows; a != nil && w.Format == "argo-workflows" {
		p := q.key("argo_workflows")
		if !dnsNameRE.MatchString(a.Namespace) {
			v.add(p.key("namespace"), "must be a Kubernetes namespace name, got %q", a.Namespace)
		}
		if !kubeName.MatchString(a.Template) {
			v.add(p.key("template"), "must be a WorkflowTemplate name, got %q", a.Template)
		}
	}
	if k := w.Kubeflow; k != nil && w.Format == "kubeflow" {
		p := q.key("kubeflow")
		if k.PipelineID == "" {
			v.add(p.key("pipeline_id"), "required")
		}
		if k.PipelineVersionID == "" {
			v.add(p.key("pipeline_version_id"), "required")
		}
	}
}

func (v *validator) webhookAuth(p *fieldPath, a *WebhookAuth) {
	switch {
	case a.BearerTokenEnv == "" && a.Basic == nil:
		v.add(p, "needs bearer_token_env or basic")
	case a.BearerTokenEnv != "" && a.Basic != nil:
		v.add(p.key("basic"), "must not be set with bearer_token_env")
	case a.BearerTokenEnv != "":
		v.credentialEnv(p.key("bearer_token_env"), a.BearerTokenEnv)
	default:
		b := p.key("basic")
		if a.Basic.Username == "" || strings.Contains(a.Basic.Username, ":") {
			v.add(b.key("username"), "must be a non-empty name without ':', got %q", a.Basic.Username)
		}
		v.credentialEnv(b.key("password_env"), a.Basic.PasswordEnv)
	}
}

// credentialEnv checks that name is a variable name and is set.
func (v *validator) credentialEnv(p *fieldPath, name string) {
	if !envNameRE.MatchString(name) {
		v.add(p, "must be an environment variable name, got %q", name)
		return
	}
	if val, ok := v.lookupEnv(name); !ok {
		v.add(p, "environment variable %s is not set", name)
	} else if val == "" {
		v.add(p, "environment variable %s is empty", name)
	}
}

func (v *validator) webhookWhen(p *fieldPath, w *WebhookWhen) {
	all := p.key("all")
	if len(w.All) == 0 {
		v.add(all, "at least one condition is required")
	}
	for i, c := range w.All {
		q := all.index(i)
		n := 0
		for _, set := range []bool{c.Drift != nil, c.LatencyP99RatioAbove != nil, c.ShadowAgreementBelow != nil, c.ErrorRateAbove != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			v.add(q, "must set exactly one of drift, latency_p99_ratio_above, shadow_agreement_below, error_rate_above; got %d", n)
			continue
		}
		switch {
		case c.Drift != nil && !*c.Drift:
			v.add(q.key("drift"), "must be true (leave the condition out instead)")
		case c.LatencyP99RatioAbove != nil && (!(*c.LatencyP99RatioAbove > 0) || math.IsInf(*c.LatencyP99RatioAbove, 1)):
			v.add(q.key("latency_p99_ratio_above"), "must be a finite number > 0, got %v", *c.LatencyP99RatioAbove)
		case c.ShadowAgreementBelow != nil && !(*c.ShadowAgreementBelow > 0 && *c.ShadowAgreementBelow <= 1):
			v.add(q.key("shadow_agreement_below"), "must be in (0, 1], got %v", *c.ShadowAgreementBelow)
		case c.ErrorRateAbove != nil && !(*c.ErrorRateAbove >= 0 && *c.ErrorRateAbove < 1):
			v.add(q.key("error_rate_above"), "must be in [0, 1), got %v", *c.ErrorRateAbove)
		}
	}
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (v *validator) canaryGuard(p *fieldPath, c *Config) {
	g := c.CanaryGuard
	if g.MinRequests < 1 {
		v.add(p.key("min_requests"), "must be >= 1, got %d", g.MinRequests)
	}
	if e := g.MaxErrorRateIncrease; e != nil && !(*e >= 0 && *e <= 1) {
		v.add(p.key("max_error_rate_increase"), "must be in 0..1, got %v", *e)
	}
	if !(g.MaxLatencyP99Ratio >= 1) || math.IsInf(g.MaxLatencyP99Ratio, 1) {
		v.add(p.key("max_latency_p99_ratio"), "must be a finite number >= 1, got %v", g.MaxLatencyP99Ratio)
	}
	if !(g.MaxTTFTP99Ratio >= 1) || math.IsInf(g.MaxTTFTP99Ratio, 1) {
		v.add(p.key("max_ttft_p99_ratio"), "must be a finite number >= 1, got %v", g.MaxTTFTP99Ratio)
	}
	if g.MaxPredictionDrift != "auto" && g.MaxPredictionDrift != "off" {
		v.add(p.key("max_prediction_drift"), `must be "auto" or "off", got %q`, g.MaxPredictionDrift)
	}
	if g.Window < Duration(time.Second) {
		v.add(p.key("window"), "must be >= 1s, got %s", g.Window)
	}
	if d := g.MaxAccuracyDrop; d != nil {
		v.maxAccuracyDrop(p.key("max_accuracy_drop"), *d, c.GroundTruth)
	}
	split := false
	for _, r := range c.Routes {
		split = split || len(r.Split) > 1
	}
	if !split && (!v.emptyRouting || len(c.Routes) > 0) {
		v.add(p, "needs a route with a canary: no route splits over more than one arm")
	}
}
