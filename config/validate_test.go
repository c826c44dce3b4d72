package config

import (
	"errors"
	"strings"
	"testing"
)

// validBase is a valid config. The cases of TestParseRules edit it line by
// line, so its line numbers hold in their expected messages.
const validBase = `listen: 0.0.0.0:8080
admin: 127.0.0.1:9901
model: m
upstreams:
  live: { address: 127.0.0.1:8501 }
  canary: { address: 127.0.0.1:8502 }
routes:
  - name: predict
    split:
      - { upstream: live, weight: 90 }
      - { upstream: canary, weight: 10 }
`

// edit returns validBase with each old line replaced by its new text, in
// pairs: edit(t, old1, new1, old2, new2...).
func edit(t *testing.T, pairs ...string) string {
	t.Helper()
	lines := strings.Split(validBase, "\n")
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for j, l := range lines {
			if l == pairs[i] {
				lines[j], found = pairs[i+1], true
				break
			}
		}
		if !found {
			t.Fatalf("edit: no line %q in validBase", pairs[i])
		}
	}
	return strings.Join(lines, "\n")
}

func TestParseValidBase(t *testing.T) {
	if _, err := Parse([]byte(validBase)); err != nil {
		t.Fatalf("Parse(validBase): got error %v; want nil", err)
	}
}

// TestParseRules has one case per validation rule. Each asserts the whole
// error text, line numbers included.
func TestParseRules(t *testing.T) {
	const (
		live   = "  live: { address: 127.0.0.1:8501 }"
		canary = "  canary: { address: 127.0.0.1:8502 }"
		route  = "  - name: predict"
		split  = "    split:"
		arm0   = "      - { upstream: live, weight: 90 }"
		arm1   = "      - { upstream: canary, weight: 10 }"
		last   = arm1
	)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "listen is not host:port",
			in:   edit(t, "listen: 0.0.0.0:8080", "listen: localhost"),
			want: `listen: must be host:port, got "localhost" (line 1)`,
		},
		{
			name: "listen port is not a number",
			in:   edit(t, "listen: 0.0.0.0:8080", "listen: 0.0.0.0:http"),
			want: `listen: port must be a number in 0..65535, got "http" (line 1)`,
		},
		{
			name: "admin port is out of range",
			in:   edit(t, "admin: 127.0.0.1:9901", "admin: 127.0.0.1:70000"),
			want: `admin: port must be a number in 0..65535, got "70000" (line 2)`,
		},
		{
			name: "admin binds the port of listen",
			in:   edit(t, "admin: 127.0.0.1:9901", "admin: 127.0.0.1:8080"),
			want: `admin: "127.0.0.1:8080" conflicts with listen "0.0.0.0:8080" (line 2)`,
		},
		{
			name: "model is empty",
			in:   edit(t, "model: m", `model: ""`),
			want: `model: must not be empty (line 3)`,
		},
		{
			name: "model is too long",
			in:   edit(t, "model: m", "model: "+strings.Repeat("m", 129)),
			want: `model: must be at most 128 bytes, got 129 (line 3)`,
		},
		{
			name: "max_request_body is zero",
			in:   edit(t, "admin: 127.0.0.1:9901", "max_request_body: 0"),
			want: `max_request_body: must be > 0 (line 2)`,
		},
		{
			name: "drain_timeout is zero",
			in:   edit(t, "admin: 127.0.0.1:9901", "drain_timeout: 0s"),
			want: `drain_timeout: must be > 0 (line 2)`,
		},
		{
			name: "no upstreams",
			in:   edit(t, "upstreams:", "upstreams: {}", live, "", canary, ""),
			want: `upstreams: at least one upstream is required (line 4)
routes[0].split[0].upstream: unknown upstream "live" (defined: none) (line 10)
routes[0].split[1].upstream: unknown upstream "canary" (defined: none) (line 11)`,
		},
		{
			name: "upstream name is not a label value",
			in:   edit(t, canary, "  Canary: { address: 127.0.0.1:8502 }", arm1, "      - { upstream: Canary, weight: 10 }"),
			want: `upstreams.Canary: name must match ^[a-z0-9][a-z0-9_.-]{0,62}$ (line 6)`,
		},
		{
			name: "upstream address is missing",
			in:   edit(t, canary, "  canary: { timeout: 1s }"),
			want: `upstreams.canary.address: required (line 6)`,
		},
		{
			name: "upstream address is not host:port",
			in:   edit(t, canary, "  canary: { address: 127.0.0.1 }"),
			want: `upstreams.canary.address: must be host:port, got "127.0.0.1" (line 6)`,
		},
		{
			name: "upstream address has no host",
			in:   edit(t, canary, `  canary: { address: ":8502" }`),
			want: `upstreams.canary.address: host must not be empty, got ":8502" (line 6)`,
		},
		{
			name: "upstream address has port 0",
			in:   edit(t, canary, "  canary: { address: 127.0.0.1:0 }"),
			want: `upstreams.canary.address: port must be a number in 1..65535, got "0" (line 6)`,
		},
		{
			name: "grpc_listen is not host:port",
			in:   edit(t, "admin: 127.0.0.1:9901", "grpc_listen: localhost", live, "  live: { address: 127.0.0.1:8501, grpc_address: 127.0.0.1:8001 }", canary, "  canary: { address: 127.0.0.1:8502, grpc_address: 127.0.0.1:8002 }"),
			want: `grpc_listen: must be host:port, got "localhost" (line 2)`,
		},
		{
			name: "grpc_listen binds the port of listen",
			in:   edit(t, "model: m", "grpc_listen: 127.0.0.1:8080", live, "  live: { address: 127.0.0.1:8501, grpc_address: 127.0.0.1:8001 }", canary, "  canary: { address: 127.0.0.1:8502, grpc_address: 127.0.0.1:8002 }"),
			want: `grpc_listen: "127.0.0.1:8080" conflicts with listen "0.0.0.0:8080" (line 3)`,
		},
		{
			name: "grpc_address does not parse",
			in:   edit(t, canary, "  canary: { address: 127.0.0.1:8502, grpc_address: 127.0.0.1 }"),
			want: `upstreams.canary.grpc_address: must be host:port, got "127.0.0.1" (line 6)`,
		},
		{
			name: "an arm of a gRPC route has no grpc_address",
			in:   edit(t, "model: m", "grpc_listen: 0.0.0.0:8081", live, "  live: { address: 127.0.0.1:8501, grpc_address: 127.0.0.1:8001 }"),
			want: `routes[0].split[1].upstream: upstream "canary" has no grpc_address, but route "predict" serves gRPC (line 11)`,
		},
		{
			name: "a gRPC service prefix needs grpc_address",
			in:   edit(t, "model: m", "grpc_listen: 0.0.0.0:8081", route, "  - name: predict\n    match: { path_prefix: /inference.GRPCInferenceService/ }"),
			want: `routes[0].split[0].upstream: upstream "live" has no grpc_address, but route "predict" serves gRPC (line 11)
routes[0].split[1].upstream: upstream "canary" has no grpc_address, but route "predict" serves gRPC (line 12)`,
		},
		{
			name: "grpc_listen without a gRPC route",
			in:   edit(t, "model: m", "grpc_listen: 0.0.0.0:8081"),
			want: `grpc_listen: no route serves gRPC: give the upstreams of a route a grpc_address (line 3)`,
		},
		{
			name: "grpc message limit out of range",
			in:   edit(t, "model: m", "grpc: { max_recv_message_bytes: 100, max_send_message_bytes: 2GiB }"),
			want: `grpc.max_recv_message_bytes: must be in 1KiB..1GiB, got 100B (line 3)
grpc.max_send_message_bytes: must be in 1KiB..1GiB, got 2GiB (line 3)`,
		},
		{
			name: "upstream timeout is zero",
			in:   edit(t, canary, "  canary: { address: 127.0.0.1:8502, timeout: 0s }"),
			want: `upstreams.canary.timeout: must be > 0 (line 6)`,
		},
		{
			name: "upstream connect_timeout is zero",
			in:   edit(t, canary, "  canary: { address: 127.0.0.1:8502, connect_timeout: 0ms }"),
			want: `upstreams.canary.connect_timeout: must be > 0 (line 6)`,
		},
		{
			name: "upstream max_conns is zero",
			in:   edit(t, canary, "  canary: { address: 127.0.0.1:8502, max_conns: 0 }"),
			want: `upstreams.canary.max_conns: must be >= 1 (line 6)`,
		},
		{
			name: "upstream idle_timeout is zero",
			in:   edit(t, canary, "  canary: { address: 127.0.0.1:8502, idle_timeout: 0s }"),
			want: `upstreams.canary.idle_timeout: must be > 0 (line 6)`,
		},
		{
			name: "no routes",
			in:   edit(t, "routes:", "routes: []", route, "", split, "", arm0, "", arm1, ""),
			want: `routes: at least one route is required (line 7)`,
		},
		{
			name: "route name is missing",
			in:   edit(t, route, "  - match: { path_prefix: / }"),
			want: `routes[0].name: required (line 8)`,
		},
		{
			name: "route name is not a label value",
			in:   edit(t, route, "  - name: Predict"),
			want: `routes[0].name: must match ^[a-z0-9][a-z0-9_.-]{0,62}$, got "Predict" (line 8)`,
		},
		{
			name: "route name is taken",
			in: edit(t, split, "    match: { path_prefix: /v1 }\n"+split, last, last+`
  - name: predict
    match: { path_prefix: /v2 }
    split: [{ upstream: live, weight: 1 }]`),
			want: `routes[1].name: duplicate route name "predict" (first at routes[0]) (line 13)`,
		},
		{
			name: "path_prefix does not start with a slash",
			in:   edit(t, split, "    match: { path_prefix: v1 }\n"+split),
			want: `routes[0].match.path_prefix: must start with "/", got "v1" (line 9)`,
		},
		{
			name: "path_prefix repeats an earlier route's",
			in: edit(t, split, "    match: { path_prefix: /x }\n"+split, last, last+`
  - name: other
    match: { path_prefix: /x }
    split: [{ upstream: live, weight: 1 }]`),
			want: `routes[1].match.path_prefix: "/x" is already matched by routes[0] (line 14)`,
		},
		{
			name: "path_prefix is covered by an earlier route's",
			in: edit(t, split, "    match: { path_prefix: /v1 }\n"+split, last, last+`
  - name: other
    match: { path_prefix: /v1/models }
    split: [{ upstream: live, weight: 1 }]`),
			want: `routes[1].match.path_prefix: "/v1/models" is unreachable: routes[0] matches prefix "/v1" first (line 14)`,
		},
		{
			name: "split is empty",
			in:   edit(t, split, "    split: []", arm0, "", arm1, ""),
			want: `routes[0].split: at least one arm is required (line 9)`,
		},
		{
			name: "arm upstream is missing",
			in:   edit(t, arm1, "      - { weight: 10 }"),
			want: `routes[0].split[1].upstream: required (line 11)`,
		},
		{
			name: "arm upstream is not defined",
			in:   edit(t, arm1, "      - { upstream: canry, weight: 10 }"),
			want: `routes[0].split[1].upstream: unknown upstream "canry" (defined: canary, live) (line 11)`,
		},
		{
			name: "arm upstream repeats in the split",
			in:   edit(t, arm1, "      - { upstream: live, weight: 10 }"),
			want: `routes[0].split[1].upstream: duplicate upstream "live" (first at routes[0].split[0]) (line 11)`,
		},
		{
			name: "arm weight is missing",
			in:   edit(t, arm1, "      - { upstream: canary }"),
			want: `routes[0].split[1].weight: required (line 11)`,
		},
		{
			name: "arm weight is negative",
			in:   edit(t, arm1, "      - { upstream: canary, weight: -1 }"),
			want: `routes[0].split[1].weight: must be >= 0 (line 11)`,
		},
		{
			name: "arm weight is too large",
			in:   edit(t, arm1, "      - { upstream: canary, weight: 1000001 }"),
			want: `routes[0].split[1].weight: must be <= 1000000 (line 11)`,
		},
		{
			name: "weights sum to zero",
			in:   edit(t, arm0, "      - { upstream: live, weight: 0 }", arm1, "      - { upstream: canary, weight: 0 }"),
			want: `routes[0].split: weights must sum to more than 0 (line 9)`,
		},
		{
			name: "sticky sets two keys",
			in:   edit(t, last, last+"\n    sticky: { header: x-user, cookie: user }"),
			want: `routes[0].sticky: must set exactly one of header, cookie, query, got 2 (line 12)`,
		},
		{
			name: "sticky sets only an empty key",
			in:   edit(t, last, last+"\n    sticky: { query: \"\" }"),
			want: `routes[0].sticky: must set exactly one of header, cookie, query, got 0 (line 12)`,
		},
		{
			name: "fallback is not an arm",
			in:   edit(t, last, last+"\n    fallback: shadow"),
			want: `routes[0].fallback: must be "none" or an upstream of the split (live, canary), got "shadow" (line 12)`,
		},
		{
			name: "weight is not an integer",
			in:   edit(t, arm1, "      - { upstream: canary, weight: abc }"),
			want: `routes[0].split[1].weight: must be an integer, got "abc" (line 11)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse: got config %s; want error %q", c.JSON(), tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("Parse error:\ngot  %s\nwant %s", got, tc.want)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Errorf("Parse error: got %T; want Errors", err)
			}
		})
	}
}

// TestParseCollectsAllErrors checks that validation goes on after the first
// problem and sorts the problems by line.
func TestParseCollectsAllErrors(t *testing.T) {
	in := edit(t,
		"model: m", `model: ""`,
		"  canary: { address: 127.0.0.1:8502 }", "  canary: { address: 127.0.0.1:8502, max_conns: 0, timeout: 0s }",
		"      - { upstream: live, weight: 90 }", "      - { upstream: live, weight: -5 }",
	)
	want := `model: must not be empty (line 3)
upstreams.canary.timeout: must be > 0 (line 6)
upstreams.canary.max_conns: must be >= 1 (line 6)
routes[0].split[0].weight: must be >= 0 (line 10)`
	_, err := Parse([]byte(in))
	if err == nil {
		t.Fatalf("Parse: got nil error; want %q", want)
	}
	if got := err.Error(); got != want {
		t.Errorf("Parse error:\ngot  %s\nwant %s", got, want)
	}
}

func TestValidateBuiltConfig(t *testing.T) {
	weight := 1
	c := Default()
	c.Model = "m\xff"
	c.Upstreams = map[string]Upstream{"live": {Address: "10.0.0.1:80"}}
	c.Routes = []Route{{Name: "r", Match: Match{PathPrefix: "/"}, Split: []Arm{{Upstream: "live", Weight: &weight}}, Fallback: FallbackNone}}
	want := `model: must be valid UTF-8
upstreams.live.timeout: must be > 0
upstreams.live.connect_timeout: must be > 0
upstreams.live.max_conns: must be >= 1
upstreams.live.idle_timeout: must be > 0`
	err := c.Validate()
	if err == nil {
		t.Fatalf("Validate: got nil error; want %q", want)
	}
	if got := err.Error(); got != want {
		t.Errorf("Validate error:\ngot  %s\nwant %s", got, want)
	}

	c.Model = "m"
	c.Upstreams["live"] = Upstream{Address: "10.0.0.1:80", Timeout: Duration(1), ConnectTimeout: Duration(1), MaxConns: 1, IdleTimeout: Duration(1)}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: got %v; want nil", err)
	}
}

// TestFalseAlarmRate checks that validation reads false_alarm_rate with
// the detector's grammar. Before, the week unit the detector documents
// was rejected.
func TestFalseAlarmRate(t *testing.T) {
	drift := func(rate string) string {
		return validBase + `features:
  - { name: age, type: numeric }
reference: { file: ref.json }
drift:
  windows: [5m, 1h]
  false_alarm_rate: ` + rate + "\n"
	}
	for _, rate := range []string{"1/1w", "1/30d", "1/7d", "1/24h", "2/1w", "1/1d12h", "1/d", `" 1 / 1w "`} {
		t.Run(rate, func(t *testing.T) {
			c, err := Parse([]byte(drift(rate)))
			if err != nil {
				t.Fatalf("Parse: got %v; want nil", err)
			}
			if c.Drift.FalseAlarmRate != strings.Trim(rate, `"`) {
				t.Fatalf("got false_alarm_rate %q; want %s", c.Drift.FalseAlarmRate, rate)
			}
		})
	}
	for _, tc := range []struct{ rate, want string }{
		{"30d", `drift.false_alarm_rate: must be N/<duration> such as 1/30d or 1/1w, got "30d" (line 17)`},
		{"1/2d1w", `drift.false_alarm_rate: must be N/<duration> such as 1/30d or 1/1w, got "1/2d1w" (line 17)`},
		{"0/1w", `drift.false_alarm_rate: must be N/<duration> such as 1/30d or 1/1w, got "0/1w" (line 17)`},
		{"1/1m", `drift.false_alarm_rate: 1/1m is more than one false alarm per 100 evaluations (line 17)`},
	} {
		t.Run(tc.rate, func(t *testing.T) {
			_, err := Parse([]byte(drift(tc.rate)))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Parse: got %v; want %s", err, tc.want)
			}
		})
	}
}
