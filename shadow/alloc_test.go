//go:build !race

package shadow

import (
	"testing"

	"github.com/driftcar/driftcar/internal/testupstream"
)

// TestShadowTapAllocs guards the request path with shadowing on: at most
// one allocation per request (the target is 0 in steady state).
func TestShadowTapAllocs(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.5]}`))
	shadow := testupstream.Start(t, testupstream.Answer("shadow", `{"predictions":[0.5]}`))
	e := newEnv(t, live, shadowSpec(shadow), false)
	h := testupstream.NewHarness(e.srv.Handler(), "/v1/models/m:predict", v1Request)
	for range 200 {
		h.ServeOK(t)
	}
	if n := testing.AllocsPerRun(2000, func() { h.ServeOK(t) }); n > 1 {
		t.Errorf("got %v allocs per mirrored request; want at most 1", n)
	}
}
