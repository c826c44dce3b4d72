package loadgen

import "time"

// pacer sleeps precisely. It is used by one goroutine.
type pacer interface {
	// sleep waits until t or for at most maxWait, whichever is first.
	sleep(t time.Time, maxWait time.Duration)
	close()
}

// sleepPacer uses the runtime's timers, which may wake up to a
// millisecond late.
type sleepPacer struct{}

func (sleepPacer) sleep(t time.Time, maxWait time.Duration) { time.Sleep(min(time.Until(t), maxWait)) }
func (sleepPacer) close()                                   {}

// sleepUntil sleeps until t in slices of at most 20 ms, and reports false
// if done closed first.
func sleepUntil(p pacer, done <-chan struct{}, t time.Time) bool {
	for {
		select {
		case <-done:
			return false
		default:
		}
		if time.Until(t) <= 0 {
			return true
		}
		p.sleep(t, 20*time.Millisecond)
	}
}
