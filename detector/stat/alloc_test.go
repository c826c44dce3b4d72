//go:build !race

package stat

import (
	"testing"
	"time"
)

func TestAllocationTick(t *testing.T) {
	for _, lazy := range []bool{false, true} {
		s := newTickSet(t, lazy)
		now := time.Unix(0, 0)
		if n := testing.AllocsPerRun(20, func() { Sink.Add(s.tick(now)) }); n != 0 {
			t.Errorf("lazy %v: got %v allocations per tick; want 0", lazy, n)
		}
	}
}
