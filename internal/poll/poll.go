// Package poll runs the workers that drain a queue the request path fills
// with a plain channel send: a worker takes what is queued, then sleeps
// from Min, doubling up to Max while nothing comes. Producers wake it only
// when the queue fills up (Wake), so most hand-offs cost no wake-up.
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
// then it calls drain once more and returns. A send on wake (a channel of
// capacity 1, or nil) ends a sleep early.
func Run(stop <-chan struct{}, wake <-chan struct{}, drain func() int) {
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
		case <-wake:
		}
	}
}

// Wake ends the worker's sleep without blocking. A producer calls it when
// the queue is filling: the Go scheduler can run the sleep's timer
// hundreds of milliseconds late while another P stays busy
// (golang/go#38860), long enough to fill a queue.
func Wake(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}
