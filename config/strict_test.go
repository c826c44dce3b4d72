package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestParseStrict covers the problems the walker finds before decoding:
// the document's shape, unknown fields, duplicate keys, and values of the
// wrong kind or type.
func TestParseStrict(t *testing.T) {
	const (
		canary = "  canary: { address: 127.0.0.1:8502 }"
		route  = "  - name: predict"
		arm1   = "      - { upstream: canary, weight: 10 }"
	)
	tests := []struct {
		name string
		in   string
		want string
	}{
		// The document.
		{name: "empty file", in: "", want: "config is empty"},
		{name: "only comments", in: "# nothing yet\n", want: "config is empty"},
		{name: "only a document marker", in: "---\n", want: "config is empty"},
		{name: "null document", in: "~\n", want: "config is empty"},
		{name: "top level is a list", in: "- listen: :8080\n", want: "config must be a mapping, got a list (line 1)"},
		{name: "top level is a scalar", in: "listen\n", want: `config must be a mapping, got "listen" (line 1)`},
		{
			name: "two documents",
			in:   validBase + "---\nmodel: other\n",
			want: "config must be one YAML document, found a second one (line 12)",
		},
		{
			name: "trailing document marker",
			in:   validBase + "---\n",
			want: "config must be one YAML document, found a second one (line 12)",
		},
		{
			name: "syntax error",
			in:   edit(t, canary, "  canary: { address: 127.0.0.1:8502"),
			want: "invalid YAML: did not find expected ',' or '}' (line 6)",
		},
		{
			name: "tab indentation",
			in:   "model: m\n\tlisten: :1\n",
			want: "invalid YAML: found a tab character that violates indentation (line 2)",
		},
		{
			name: "syntax error on the first line",
			in:   "model: [m\n",
			want: "invalid YAML: did not find expected ',' or ']' (line 2)",
		},
		{
			name: "block mapping missing a key",
			in:   "upstreams:\n  live: {}\n - x\n",
			want: "invalid YAML: did not find expected key (line 3)",
		},
		{name: "unknown anchor", in: "model: *m\n", want: "invalid YAML: unknown anchor 'm' referenced"},

		// Unknown fields at every depth.
		{
			name: "unknown top-level field",
			in:   edit(t, "model: m", "modle: m"),
			want: "modle: unknown field (line 3)",
		},
		{
			name: "unknown upstream field",
			in:   edit(t, canary, "  canary: { adress: 127.0.0.1:8502 }"),
			want: "upstreams.canary.adress: unknown field (line 6)",
		},
		{
			name: "unknown route field",
			in:   edit(t, route, "  - name: predict\n    foo: 1"),
			want: "routes[0].foo: unknown field (line 9)",
		},
		{
			name: "unknown match field",
			in:   edit(t, route, "  - name: predict\n    match: { prefix: /v1 }"),
			want: "routes[0].match.prefix: unknown field (line 9)",
		},
		{
			name: "unknown arm field",
			in:   edit(t, arm1, "      - { upstream: canary, wieght: 10 }"),
			want: "routes[0].split[1].wieght: unknown field (line 11)",
		},
		{
			name: "unknown sticky field behind a pointer",
			in:   edit(t, arm1, arm1+"\n    sticky: { hdr: x-user-id }"),
			want: "routes[0].sticky.hdr: unknown field (line 12)",
		},
		{
			name: "unknown field with a key that is not a plain word",
			in:   edit(t, canary, `  canary: { address: 127.0.0.1:8502, "time out": 1s }`),
			want: `upstreams.canary["time out"]: unknown field (line 6)`,
		},
		{
			name: "several unknown fields, sorted by line",
			in:   edit(t, arm1, "      - { upstream: canary, wieght: 10 }", "model: m", "modle: m"),
			want: "modle: unknown field (line 3)\nroutes[0].split[1].wieght: unknown field (line 11)",
		},

		// Duplicate keys.
		{
			name: "duplicate top-level key",
			in:   edit(t, "model: m", "model: m\nmodel: n"),
			want: "model: duplicate key, first at line 3 (line 4)",
		},
		{
			name: "duplicate upstream name",
			in:   edit(t, canary, canary+"\n  live: { address: 127.0.0.1:9000 }"),
			want: "upstreams.live: duplicate key, first at line 5 (line 7)",
		},
		{
			name: "duplicate key in a flow mapping",
			in:   edit(t, arm1, "      - { upstream: canary, weight: 10, weight: 20 }"),
			want: "routes[0].split[1].weight: duplicate key, first at line 11 (line 11)",
		},
		{
			name: "duplicate key spelled two ways",
			in:   edit(t, "model: m", "model: m\n\"model\": n"),
			want: "model: duplicate key, first at line 3 (line 4)",
		},

		// Kinds.
		{
			name: "list where a mapping is expected",
			in:   edit(t, "upstreams:", "upstreams: [live]", "  live: { address: 127.0.0.1:8501 }", "", canary, ""),
			want: "upstreams: must be a mapping, got a list (line 4)",
		},
		{
			name: "mapping where a list is expected",
			in:   "routes: { name: predict }\n",
			want: "routes: must be a list, got a mapping (line 1)",
		},
		{
			name: "scalar where a mapping is expected",
			in:   edit(t, route, "  - name: predict\n    match: /v1"),
			want: `routes[0].match: must be a mapping, got "/v1" (line 9)`,
		},
		{
			name: "mapping where a string is expected",
			in:   edit(t, "model: m", "model: { name: m }"),
			want: "model: must be a string, got a mapping (line 3)",
		},
		{
			name: "null list item",
			in:   edit(t, arm1, "      - ~"),
			want: "routes[0].split[1]: must be a mapping, got null (line 11)",
		},
		{
			name: "non-string key",
			in:   "? [listen]\n: x\n",
			want: "keys must be scalars, got a list (line 1)",
		},

		// Scalar types.
		{
			name: "fraction where an integer is expected",
			in:   edit(t, arm1, "      - { upstream: canary, weight: 1.5 }"),
			want: `routes[0].split[1].weight: must be an integer, got "1.5" (line 11)`,
		},
		{
			name: "quoted integer",
			in:   edit(t, canary, `  canary: { address: 127.0.0.1:8502, max_conns: "8" }`),
			want: `upstreams.canary.max_conns: must be an integer, got "8" (line 6)`,
		},
		{
			name: "integer too large",
			in:   edit(t, arm1, "      - { upstream: canary, weight: 99999999999999999999 }"),
			want: `routes[0].split[1].weight: must be an integer, got "99999999999999999999" (line 11)`,
		},
		{
			name: "yes is not a boolean",
			in:   edit(t, arm1, arm1+"\n    arm_override: yes"),
			want: `routes[0].arm_override: must be true or false, got "yes" (line 12)`,
		},
		{
			name: "duration without a unit",
			in:   edit(t, canary, "  canary: { address: 127.0.0.1:8502, timeout: 30 }"),
			want: `upstreams.canary.timeout: must have a unit such as "s" or "ms", got "30" (line 6)`,
		},
		{
			name: "negative duration",
			in:   edit(t, "admin: 127.0.0.1:9901", "drain_timeout: -5s"),
			want: `drain_timeout: must not be negative, got "-5s" (line 2)`,
		},
		{
			name: "duration is a list",
			in:   edit(t, "admin: 127.0.0.1:9901", "drain_timeout: [5s]"),
			want: `drain_timeout: must be a duration such as "1s", got a list (line 2)`,
		},
		{
			name: "unknown size unit",
			in:   edit(t, "admin: 127.0.0.1:9901", "max_request_body: 16mb"),
			want: `max_request_body: unknown size unit "mb", want one of B, KB, MB, GB, TB, KiB, MiB, GiB, TiB (line 2)`,
		},
		{
			name: "type errors together with unknown fields",
			in:   edit(t, arm1, "      - { upstream: canary, weight: abc, extra: 1 }", "model: m", "model: [m]"),
			want: "model: must be a string, got a list (line 3)\n" +
				`routes[0].split[1].weight: must be an integer, got "abc" (line 11)` + "\n" +
				"routes[0].split[1].extra: unknown field (line 11)",
		},

		// Anchors and merge keys.
		{
			name: "merged mapping with an unknown field",
			in: edit(t,
				"  live: { address: 127.0.0.1:8501 }", "  live: &live { address: 127.0.0.1:8501, tiemout: 1s }",
				canary, "  canary: { <<: *live, address: 127.0.0.1:8502 }"),
			want: "upstreams.live.tiemout: unknown field (line 5)\nupstreams.canary.tiemout: unknown field (line 5)",
		},
		{
			name: "merge of a scalar",
			in:   edit(t, canary, "  canary: { <<: x, address: 127.0.0.1:8502 }"),
			want: `upstreams.canary["<<"]: merge value must be a mapping or a list of mappings, got "x" (line 6)`,
		},
		{
			name: "mapping that merges itself",
			in:   edit(t, canary, "  canary: &c { <<: *c, address: 127.0.0.1:8502 }"),
			want: `upstreams.canary["<<"]: alias *c refers to itself (line 6)`,
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
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("Parse error: got %T; want one that holds a *FieldError", err)
			}
		})
	}
}

// TestParseAnchors checks that aliases and merge keys decode as yaml.v3
// defines them, with explicit keys overriding merged ones.
func TestParseAnchors(t *testing.T) {
	in := edit(t,
		"  live: { address: 127.0.0.1:8501 }", "  live: &live { address: 127.0.0.1:8501, timeout: 2s, max_conns: 7 }",
		"  canary: { address: 127.0.0.1:8502 }", "  canary: { <<: *live, address: 127.0.0.1:8502, max_conns: 9 }",
	)
	c, err := Parse([]byte(in))
	if err != nil {
		t.Fatalf("Parse: got error %v; want nil", err)
	}
	got := c.Upstreams["canary"]
	want := Upstream{
		Address:        "127.0.0.1:8502",
		Timeout:        Duration(2e9),
		ConnectTimeout: Duration(1e9),
		MaxConns:       9,
		IdleTimeout:    Duration(60e9),

		StreamIdleTimeout: Duration(30e9),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("upstreams.canary: got %+v; want %+v", got, want)
	}
}

// TestParseExplicitNull checks that null means "left out", so the default
// applies.
func TestParseExplicitNull(t *testing.T) {
	in := edit(t, "model: m", "model: ~", "admin: 127.0.0.1:9901", "drain_timeout: null")
	c, err := Parse([]byte(in))
	if err != nil {
		t.Fatalf("Parse: got error %v; want nil", err)
	}
	if c.Model != defaultModel || c.DrainTimeout != Duration(defaultDrainTimeout) {
		t.Errorf("model, drain_timeout: got %q, %s; want %q, %s", c.Model, c.DrainTimeout, defaultModel, Duration(defaultDrainTimeout))
	}
}

// TestDecodeError covers the fallback for yaml.v3 errors the walker did
// not catch: the path comes from the line.
func TestDecodeError(t *testing.T) {
	lines := lineIndex{"routes": 7, "routes[0]": 8, "routes[0].split[1]": 11, "routes[0].split[1].weight": 11}
	var c struct{ W int }
	err := decodeError(yamlTypeError(t, &c), lines)
	want := "routes[0].split[1].weight: cannot unmarshal !!str `abc` into int (line 11)"
	if err == nil || err.Error() != want {
		t.Errorf("decodeError: got %v; want %s", err, want)
	}
}

// TestParseExcessiveAliasing checks that merges which expand exponentially
// fail fast. Before the visit budget was tied to the input size, this 2KB
// input took 0.6s to reject.
func TestParseExcessiveAliasing(t *testing.T) {
	var b strings.Builder
	b.WriteString("upstreams:\n  a0: &a0 {address: 'x:1'}\n")
	for i := 1; i < 30; i++ {
		fmt.Fprintf(&b, "  a%d: &a%d {<<: [%s*a%d]}\n", i, i, strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 8), i-1)
	}
	start := time.Now()
	_, err := Parse([]byte(b.String()))
	if err == nil || err.Error() != "config contains excessive aliasing" {
		t.Errorf("Parse: got %v; want config contains excessive aliasing", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Parse took %v; want it to fail fast", d)
	}
}

// TestParseAliasReuse checks that ordinary reuse of anchors stays within
// the visit budget.
func TestParseAliasReuse(t *testing.T) {
	var b strings.Builder
	b.WriteString("upstreams: {a: {address: 'x:1'}, b: {address: 'x:2'}}\nroutes:\n")
	b.WriteString("  - {name: r0, match: {path_prefix: /r0/}, split: &arms [{upstream: a, weight: 1}, {upstream: b, weight: 2}]}\n")
	for i := 1; i < 200; i++ {
		fmt.Fprintf(&b, "  - {name: r%d, match: {path_prefix: /r%d/}, split: *arms}\n", i, i)
	}
	c, err := Parse([]byte(b.String()))
	if err != nil {
		t.Fatalf("Parse: got error %v; want nil", err)
	}
	if got := len(c.Routes); got != 200 {
		t.Errorf("routes: got %d; want 200", got)
	}
}
