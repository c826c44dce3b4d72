package poll

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestRunBacksOffWakesAndDrainsAtStop: an idle worker's sleeps double up
// to Max; Wake ends one at once; closing stop drains a last time.
func TestRunBacksOffWakesAndDrainsAtStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stop, wake := make(chan struct{}), make(chan struct{}, 1)
		var drains atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			Run(stop, wake, func() int { drains.Add(1); return 0 })
		}()
		// Sleeps of 2, 4, ..., 64 ms, then 64 ms each: 1 + 6 drains in
		// the first 126 ms, one more every 64 ms after.
		time.Sleep(126*time.Millisecond + time.Microsecond)
		synctest.Wait()
		if n := drains.Load(); n != 7 {
			t.Errorf("drains after 126 ms: got %d; want 7 (sleeps doubling from 2 ms)", n)
		}
		start := time.Now()
		Wake(wake)
		synctest.Wait()
		if n := drains.Load(); n != 8 || time.Since(start) != 0 {
			t.Errorf("after Wake: got %d drains at +%v; want 8 at once", n, time.Since(start))
		}
		close(stop)
		<-done
		if n := drains.Load(); n != 9 {
			t.Fatalf("after stop: got %d drains; want 9 (one last)", n)
		}
	})
}
