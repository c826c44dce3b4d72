package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSlowAdversarial(t *testing.T) {
	var laughs strings.Builder
	laughs.WriteString("upstreams:\n  a0: &a0 {address: 'x:1'}\n")
	for i := 1; i < 30; i++ {
		fmt.Fprintf(&laughs, "  a%d: &a%d {<<: [", i, i)
		for j := 0; j < 9; j++ {
			if j > 0 {
				laughs.WriteString(", ")
			}
			fmt.Fprintf(&laughs, "*a%d", i-1)
		}
		laughs.WriteString("]}\n")
	}
	var routes strings.Builder
	routes.WriteString("upstreams: {a: {address: 'x:1'}}\nroutes:\n")
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&routes, "  - {name: r%d, match: {path_prefix: /p%d}, split: [{upstream: a, weight: 1}]}\n", i, i)
	}
	var seqLaughs strings.Builder
	seqLaughs.WriteString("upstreams: {a: {address: 'x:1'}}\nroutes:\n  - &r0 {name: r, split: [{upstream: a, weight: 1}]}\n")
	seqLaughs.WriteString("x: &s0 [*r0, *r0, *r0, *r0, *r0, *r0, *r0, *r0, *r0]\n")
	for _, tc := range []struct{ name, in string }{
		{"merge laughs", laughs.String()},
		{"many routes", routes.String()},
		{"deep nesting", strings.Repeat("[", 10000) + strings.Repeat("]", 10000)},
		{"deep model", "model: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000)},
	} {
		start := time.Now()
		_, err := Parse([]byte(tc.in))
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		t.Logf("%s: %v, %d bytes, err %.200s", tc.name, time.Since(start), len(tc.in), msg)
	}
}
