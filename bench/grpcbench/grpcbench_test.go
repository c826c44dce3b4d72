package grpcbench

import (
	"strings"
	"testing"
)

func TestNginxConfigSpeaksHTTP2AndGRPC(t *testing.T) {
	c := nginxConfig("127.0.0.1:1", "127.0.0.1:2")
	for _, want := range []string{"listen 127.0.0.1:1 http2;", "grpc_pass grpc://live;", "server 127.0.0.1:2;"} {
		if !strings.Contains(c, want) {
			t.Errorf("nginx config lacks %q:\n%s", want, c)
		}
	}
}

func TestDeriveComparesDriftcarWithNginx(t *testing.T) {
	rep := &Report{Cells: []Cell{
		{Path: Direct, InFlight: 32, Throughput: 300, P99: 1},
		{Path: Driftcar, InFlight: 32, Throughput: 200, P99: 3},
		{Path: Nginx, InFlight: 32, Throughput: 100, P99: 2},
	}}
	rep.derive()
	r := rep.Cells[1].VsNginx
	if r == nil || r.Throughput != 2 || r.P99 != 1.5 {
		t.Fatalf("ratios: got %+v; want throughput 2, p99 1.5", r)
	}
	if m := rep.Missed(); len(m) != 1 || !strings.Contains(m[0].Target, "p99") {
		t.Errorf("missed: got %+v; want the p99 target only", m)
	}
}
