package config

import "time"

// Config is one validated, defaulted configuration. A *Config returned by
// Parse or Load is immutable: callers must not modify it.
type Config struct {
	// Listen is the address for inference traffic. Default "0.0.0.0:8080".
	Listen string `yaml:"listen" json:"listen"`
	// Admin is the address of the admin server. Default "127.0.0.1:9901".
	Admin string `yaml:"admin" json:"admin"`
	// Model is the value of the model label on every metric. Default "model".
	Model string `yaml:"model" json:"model"`
	// MaxRequestBody caps a client request body; larger bodies get 413.
	// Default 16MiB.
	MaxRequestBody ByteSize `yaml:"max_request_body" json:"max_request_body"`
	// DrainTimeout bounds how long SIGTERM waits for in-flight requests.
	// Default 20s.
	DrainTimeout Duration `yaml:"drain_timeout" json:"drain_timeout"`
	// Upstreams maps an upstream name to its connection settings.
	Upstreams map[string]Upstream `yaml:"upstreams" json:"upstreams"`
	// Routes are matched in order; the first match wins.
	Routes []Route `yaml:"routes" json:"routes"`
}

// Upstream is a model server that routes send traffic to.
type Upstream struct {
	// Address is host:port. Required.
	Address string `yaml:"address" json:"address"`
	// Timeout bounds one upstream call, from send to the end of the
	// response. Default 30s.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// ConnectTimeout bounds dialing a new connection. Default 1s.
	ConnectTimeout Duration `yaml:"connect_timeout" json:"connect_timeout"`
	// MaxConns caps open connections to the upstream. Default 512.
	MaxConns int `yaml:"max_conns" json:"max_conns"`
	// IdleTimeout closes keep-alive connections idle for longer. Default 60s.
	IdleTimeout Duration `yaml:"idle_timeout" json:"idle_timeout"`
}

// Route sends requests whose path matches to one of its split arms.
type Route struct {
	// Name identifies the route in metrics and errors. Required.
	Name string `yaml:"name" json:"name"`
	// Match selects requests. Default: every path.
	Match Match `yaml:"match" json:"match"`
	// Split lists the arms and their weights. At least one arm.
	Split []Arm `yaml:"split" json:"split"`
	// Sticky, when set, picks the arm by a consistent hash of a key
	// instead of at random.
	Sticky *Sticky `yaml:"sticky,omitempty" json:"sticky,omitempty"`
	// Fallback names the arm that takes a request another arm failed to
	// serve, or "none". Default: the upstream of the first arm of Split
	// when Split has more than one arm, else "none".
	Fallback string `yaml:"fallback" json:"fallback"`
	// ArmOverride lets clients choose the arm with the x-driftcar-arm
	// header. Default false.
	ArmOverride bool `yaml:"arm_override" json:"arm_override"`
}

// Match selects requests for a route.
type Match struct {
	// PathPrefix matches paths that start with it. Default "/".
	PathPrefix string `yaml:"path_prefix" json:"path_prefix"`
}

// Arm is one weighted target of a route's split.
type Arm struct {
	// Upstream names an entry of Config.Upstreams. Required.
	Upstream string `yaml:"upstream" json:"upstream"`
	// Weight is an integer >= 0; weight 0 pauses the arm. Required.
	Weight *int `yaml:"weight" json:"weight"`
}

// Sticky names the request key for consistent arm choice. Exactly one
// field is set.
type Sticky struct {
	Header string `yaml:"header,omitempty" json:"header,omitempty"`
	Cookie string `yaml:"cookie,omitempty" json:"cookie,omitempty"`
	Query  string `yaml:"query,omitempty" json:"query,omitempty"`
}

// FallbackNone disables fallback for a route.
const FallbackNone = "none"

// ArmOverrideHeader is the request header that picks an arm when a route
// allows it.
const ArmOverrideHeader = "x-driftcar-arm"

// Duration is a time.Duration written as "1s", "250ms" or "2m".
type Duration time.Duration

// ByteSize is a size in bytes written as 1048576, "512KiB", "1MiB" or "1GiB".
type ByteSize int64
