package config

import "time"

// The defaults, documented on the fields of Config, Upstream and Route.
const (
	defaultListen         = "0.0.0.0:8080"
	defaultAdmin          = "127.0.0.1:9901"
	defaultModel          = "model"
	defaultMaxRequestBody = 16 << 20
	defaultDrainTimeout   = 20 * time.Second
	defaultTimeout        = 30 * time.Second
	defaultConnectTimeout = time.Second
	defaultMaxConns       = 512
	defaultIdleTimeout    = 60 * time.Second
	defaultPathPrefix     = "/"
)

// Default returns a Config with the defaults of every top-level field and
// no upstreams or routes.
func Default() *Config {
	c := new(Config)
	applyDefaults(c, nil)
	return c
}

// applyDefaults fills each field that the input left out. A field the
// input sets keeps its value, even a zero one, so that "timeout: 0s" is
// reported by validate instead of silently becoming 30s. With a nil set,
// every zero field counts as left out.
func applyDefaults(c *Config, set lineIndex) {
	unset := func(p *fieldPath, zero bool) bool { return zero && !set.has(p) }
	root := rootPath
	if unset(root.key("listen"), c.Listen == "") {
		c.Listen = defaultListen
	}
	if unset(root.key("admin"), c.Admin == "") {
		c.Admin = defaultAdmin
	}
	if unset(root.key("model"), c.Model == "") {
		c.Model = defaultModel
	}
	if unset(root.key("max_request_body"), c.MaxRequestBody == 0) {
		c.MaxRequestBody = defaultMaxRequestBody
	}
	if unset(root.key("drain_timeout"), c.DrainTimeout == 0) {
		c.DrainTimeout = Duration(defaultDrainTimeout)
	}

	ups := root.key("upstreams")
	for name, u := range c.Upstreams {
		p := ups.key(name)
		if unset(p.key("timeout"), u.Timeout == 0) {
			u.Timeout = Duration(defaultTimeout)
		}
		if unset(p.key("connect_timeout"), u.ConnectTimeout == 0) {
			u.ConnectTimeout = Duration(defaultConnectTimeout)
		}
		if unset(p.key("max_conns"), u.MaxConns == 0) {
			u.MaxConns = defaultMaxConns
		}
		if unset(p.key("idle_timeout"), u.IdleTimeout == 0) {
			u.IdleTimeout = Duration(defaultIdleTimeout)
		}
		c.Upstreams[name] = u
	}

	routes := root.key("routes")
	for i := range c.Routes {
		r, p := &c.Routes[i], routes.index(i)
		if unset(p.key("match").key("path_prefix"), r.Match.PathPrefix == "") {
			r.Match.PathPrefix = defaultPathPrefix
		}
		if unset(p.key("fallback"), r.Fallback == "") {
			r.Fallback = FallbackNone
			if len(r.Split) > 1 && r.Split[0].Upstream != "" {
				r.Fallback = r.Split[0].Upstream
			}
		}
	}
}
