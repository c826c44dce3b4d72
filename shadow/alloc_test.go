//go:build !race

package shadow

import (
	"sync/atomic"
	"testing"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/testupstream"
)

// TestShadowTapAllocs guards the request path with shadowing on: at most
// one allocation per request (the target is 0 in steady state).
func TestShadowTapAllocs(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.5]}`))
	shadow := testupstream.Start(t, testupstream.Answer("shadow", `{"predictions":[0.5]}`))
	e := newEnv(t, live, shadowSpec(shadow), false)
	counted := &countingAnswers{}
	e.mirror.answers = counted // before any traffic; it allocates nothing
	h := testupstream.NewHarness(e.srv.Handler(), "/v1/models/m:predict", v1Request)
	for range 200 {
		h.ServeOK(t)
	}
	if n := testing.AllocsPerRun(2000, func() { h.ServeOK(t) }); n > 1 {
		t.Errorf("got %v allocs per mirrored request; want at most 1", n)
	}
	if counted.n.Load() == 0 {
		t.Error("the Answers got nothing")
	}
}

type countingAnswers struct{ n atomic.Int64 }

func (c *countingAnswers) ShadowAnswer(*Answer) { c.n.Add(1) }

// TestComparePairAllocs: comparing a pair that agrees allocates nothing in
// steady state, for each protocol's layout. (A mismatch formats its two
// values for the sample.)
func TestComparePairAllocs(t *testing.T) {
	for _, p := range comparePairs {
		c, err := newComparator(Spec{Protocol: p.proto, Compare: Compare{AbsTolerance: 1e-6}}.withDefaults())
		if err != nil {
			t.Fatal(err)
		}
		var v verdict
		run := func() { c.comparePair(200, p.live, payload.JSONBody, false, 200, p.live, payload.JSONBody, &v) }
		run()
		if n := testing.AllocsPerRun(1000, run); n != 0 {
			t.Errorf("%s: %v allocs per pair; want 0", p.name, n)
		}
	}
}

// TestGRPCTapAllocs: the gRPC tap's hand-off of a mirrored call (id from
// the message, a queue slot, the pooled record) allocates nothing.
func TestGRPCTapAllocs(t *testing.T) {
	spec := grpcShadowSpec("127.0.0.1:1")
	spec.Workers = 1
	g := stoppedGRPCSide(t, spec)
	c := tapCall()
	run := func() {
		g.Call(c)
		g.release(<-g.queue)
	}
	run()
	if n := testing.AllocsPerRun(1000, run); n != 0 {
		t.Errorf("got %v allocs per mirrored gRPC call; want 0", n)
	}
}
