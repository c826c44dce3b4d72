//go:build !race

package grpcproxy

import (
	"testing"
	"time"
)

// relayAllocBudget bounds the allocations the relay adds to one unary
// call: the calls through driftcar minus the same calls made directly.
// Measured at 31 (x/net v0.62, go1.26), against 201 for a whole direct
// call counted at both ends: the call state, the decoded header fields
// both ways, the trailers, and the map entries of two stream tables.
const relayAllocBudget = 48

// TestAllocationRelayedUnary counts every allocation in the process (client,
// relay and upstream share it), with and without the relay in between.
func TestAllocationRelayedUnary(t *testing.T) {
	live := startUpstream(t, "live")
	f := startFront(t, twoArms(live.addr, live.addr, ""), Options{})
	direct := dial(t, live.addr)
	req := &Frame{b: inferRequest("m", "alloc", 4)}
	ctx := ctxTimeout(t, time.Minute)
	through := testing.AllocsPerRun(200, func() {
		if err := f.cc.Invoke(ctx, methodInfer, req, new(Frame)); err != nil {
			t.Fatal(err)
		}
	})
	alone := testing.AllocsPerRun(200, func() {
		if err := direct.Invoke(ctx, methodInfer, req, new(Frame)); err != nil {
			t.Fatal(err)
		}
	})
	added := through - alone
	t.Logf("allocations per unary ModelInfer: %.0f through driftcar, %.0f direct, %.0f added by the relay", through, alone, added)
	if added > relayAllocBudget {
		t.Errorf("the relay adds %.0f allocations per call; want <= %d", added, relayAllocBudget)
	}
}

func BenchmarkRelayUnary(b *testing.B) {
	live := startUpstream(b, "live")
	f := startFront(b, twoArms(live.addr, live.addr, ""), Options{})
	req := &Frame{b: inferRequest("m", "bench", 4)}
	ctx := ctxTimeout(b, time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if err := f.cc.Invoke(ctx, methodInfer, req, new(Frame)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDirectUnary(b *testing.B) {
	live := startUpstream(b, "live")
	cc := dial(b, live.addr)
	req := &Frame{b: inferRequest("m", "bench", 4)}
	ctx := ctxTimeout(b, time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if err := cc.Invoke(ctx, methodInfer, req, new(Frame)); err != nil {
			b.Fatal(err)
		}
	}
}
