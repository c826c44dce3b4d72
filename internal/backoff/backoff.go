// Package backoff computes exponential retry delays: the one backoff of
// the xDS reconnect, the xDS NACK throttle and the drift webhook. A Policy
// is a plain value; Delay is safe for concurrent use.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy is an exponential backoff: Initial·Multiplier^attempt, at most
// Max, then scaled by a uniform factor in [1-Jitter, 1+Jitter].
type Policy struct {
	// Initial is the delay of attempt 0.
	Initial time.Duration
	// Max caps the delay before jitter.
	Max time.Duration
	// Multiplier is the growth per attempt; it should be > 1.
	Multiplier float64
	// Jitter is the relative spread, in [0, 1); 0 means none.
	Jitter float64
}

// Delay returns the pause after attempt failed attempts in a row
// (attempt >= 0; a negative attempt counts as 0).
func (p Policy) Delay(attempt int) time.Duration {
	d, limit := float64(p.Initial), float64(p.Max)
	if d >= limit {
		d = limit
	} else {
		for range attempt {
			d *= p.Multiplier
			if d >= limit {
				d = limit
				break
			}
		}
	}
	if p.Jitter > 0 {
		d *= 1 + p.Jitter*(2*rand.Float64()-1)
	}
	return time.Duration(d)
}
