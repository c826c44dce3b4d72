//go:build !race

package proxy

import "testing"

// TestHandlerZeroAllocs guards the 0 allocs/op of the steady-state request
// path with no taps: route lookup, arm choice, header work, the upstream
// call and metrics.
func TestHandlerZeroAllocs(t *testing.T) {
	up := stubUpstream(t)
	for _, sticky := range []bool{false, true} {
		h := newHandlerHarness(t, splitConfig(up, up, sticky))
		for range 100 {
			h.ServeOK(t)
		}
		if n := testing.AllocsPerRun(1000, func() { h.ServeOK(t) }); n != 0 {
			t.Errorf("sticky=%t: got %v allocs per request; want 0", sticky, n)
		}
	}
}
