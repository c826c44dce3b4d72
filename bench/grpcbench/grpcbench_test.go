package grpcbench

import (
	"math"
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

func TestDriftcarConfigMirrorsOverGRPCOnlyWithAShadow(t *testing.T) {
	if c := driftcarConfig("a:1", "a:2", "a:3", "a:4", ""); strings.Contains(c, "shadow") {
		t.Errorf("config without a shadow mirrors:\n%s", c)
	}
	c := driftcarConfig("a:1", "a:2", "a:3", "a:4", "a:5")
	for _, want := range []string{"shadow: { address: a:5, grpc_address: a:5", "shadow: { upstream: shadow, fraction: 1 }"} {
		if !strings.Contains(c, want) {
			t.Errorf("config lacks %q:\n%s", want, c)
		}
	}
}

func TestDeriveJudgesTheShadowAtEqualLoad(t *testing.T) {
	rep := &Report{
		Cells: []Cell{
			{Path: Driftcar, InFlight: 32, Throughput: 200, P99: 3, CPUPerCall: 80},
			{Path: DriftcarShadow, InFlight: 32, Throughput: 180, P99: 4, CPUPerCall: 100},
		},
		Loads: []Load{
			{Path: Driftcar, InFlight: 32, Offered: 126, Achieved: 126, CPUPerCall: 90},
			{Path: DriftcarShadow, InFlight: 32, Offered: 126, Achieved: 100, CPUPerCall: 100},
		},
	}
	rep.derive()
	if len(rep.Targets) != 1 || rep.Targets[0].Got != 0.9 || rep.Targets[0].Pass || !strings.Contains(rep.Targets[0].Target, "equal load (126 calls/s") {
		t.Fatalf("targets: got %+v; want one missed equal-load target at 0.90 (CPU per call 90 vs 100 µs)", rep.Targets)
	}
	notes := strings.Join(rep.Notes, "\n")
	for _, want := range []string{"raw throughput at 32 in flight: 0.90×", "closed loop: 0.80×", "driftcar+shadow answered 100 of 126 calls/s offered: saturated"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if strings.Contains(notes, "driftcar answered") {
		t.Errorf("notes call the unsaturated driftcar saturated:\n%s", notes)
	}
	if md := rep.Markdown(); !strings.Contains(md, "| driftcar+shadow | 32 | 126 | 100 | 0 | 100.0 µs |") {
		t.Errorf("markdown lacks the equal-load row:\n%s", md)
	}
	rep.Targets, rep.Notes = nil, nil
	// Round by round: 1.0, 0.5 (a noisy round), 0.96; the median is 0.96.
	rep.Loads[0].Rounds, rep.Loads[1].Rounds = []float64{10, 10, 9.6}, []float64{10, 20, 10}
	rep.derive()
	if len(rep.Targets) != 1 || math.Abs(rep.Targets[0].Got-0.96) > 1e-9 || !rep.Targets[0].Pass {
		t.Fatalf("targets: got %+v; want the median round, 0.96, passing", rep.Targets)
	}
	if notes := strings.Join(rep.Notes, "\n"); !strings.Contains(notes, "by round: 1.00, 0.50, 0.96; over all rounds 0.90×") {
		t.Errorf("notes lack the rounds' ratios:\n%s", notes)
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
