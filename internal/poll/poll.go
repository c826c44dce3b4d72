// Package poll runs the workers that drain a queue the request path fills
// with a plain channel send: a worker takes what is queued, then sleeps
// from Min, doubling up to Max while nothing comes. Producers never wake
// it, so a hand-off costs no wake-up.
//
// Concurrency: Run blocks its caller's goroutine until stop is closed;
// drain runs only on that goroutine.
package poll

import "time"

// The sleeps between drains.
const (
	Min = time.Millisecond
	Max = 64 * time.Millisecond
)

// Run calls drain, which returns how much it took, until stop is closed;
// then it calls drain once more and returns.
func Run(stop <-chan struct{}, drain func() int) {
	wait := Min
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		if drain() > 0 {
			wait = Min
		} else {
			wait = min(2*wait, Max)
		}
		timer.Reset(wait)
		select {
		case <-stop:
			drain()
			return
		case <-timer.C:
		}
	}
}
