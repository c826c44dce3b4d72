package backoff

import (
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	const ms = time.Millisecond
	doubling := Policy{Initial: 100 * ms, Max: 5 * time.Second, Multiplier: 2}
	slow := Policy{Initial: time.Second, Max: 30 * time.Second, Multiplier: 1.6}
	for _, tc := range []struct {
		name    string
		p       Policy
		attempt int
		want    time.Duration
	}{
		{"first", doubling, 0, 100 * ms},
		{"negative counts as first", doubling, -3, 100 * ms},
		{"doubles", doubling, 3, 800 * ms},
		{"capped", doubling, 6, 5 * time.Second},
		{"capped far out", doubling, 1 << 30, 5 * time.Second},
		{"factor 1.6", slow, 2, 2560 * ms},
		{"factor 1.6 capped", slow, 8, 30 * time.Second},
		{"initial above max", Policy{Initial: 2 * time.Minute, Max: time.Minute, Multiplier: 2}, 0, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Delay(tc.attempt); got != tc.want {
				t.Fatalf("Delay(%d) = %v; want %v", tc.attempt, got, tc.want)
			}
		})
	}
}

func TestDelayJitter(t *testing.T) {
	p := Policy{Initial: time.Second, Max: 30 * time.Second, Multiplier: 1.6, Jitter: 0.2}
	for attempt, base := range []time.Duration{time.Second, 1600 * time.Millisecond, 2560 * time.Millisecond} {
		lo, hi := time.Duration(0.8*float64(base)), time.Duration(1.2*float64(base))
		seen := map[time.Duration]bool{}
		for range 200 {
			d := p.Delay(attempt)
			if d < lo || d > hi {
				t.Fatalf("Delay(%d) = %v; want within [%v, %v]", attempt, d, lo, hi)
			}
			seen[d] = true
		}
		if len(seen) < 100 {
			t.Errorf("Delay(%d): %d distinct values in 200; want jitter", attempt, len(seen))
		}
	}
}
