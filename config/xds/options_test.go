package xds

import (
	"testing"
	"time"
)

func TestDefaultNackDelay(t *testing.T) {
	const ms = time.Millisecond
	for repeat, want := range []time.Duration{0, 100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 5000 * ms, 5000 * ms} {
		if got := defaultNackDelay(repeat); got != want {
			t.Errorf("defaultNackDelay(%d) = %v; want %v", repeat, got, want)
		}
	}
	if got := defaultNackDelay(1 << 20); got != 5*time.Second {
		t.Errorf("defaultNackDelay(1<<20) = %v; want 5s", got)
	}
}
