//go:build !race

package groundtruth

import (
	"testing"
	"time"
)

func TestTableAllocations(t *testing.T) {
	clock := newTestClock()
	tab := newTestTable(t, 1000, time.Hour, clock)
	id, row := []byte("req-alloc"), preds(4)
	at := clock.Now()
	for name, f := range map[string]func(){
		"PutLive":   func() { tab.PutLive(id, 1, 1, row) },
		"PutShadow": func() { tab.PutShadow(id, 1, row) },
		"Label":     func() { _, _ = tab.Label(id, 2, at) },
	} {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s: %.1f allocations; want 0", name, n)
		}
	}
}
