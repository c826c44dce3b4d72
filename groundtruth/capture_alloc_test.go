//go:build !race

package groundtruth

import (
	"testing"
	"time"

	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/driftcar/driftcar/internal/testutil"
)

// TestCaptureTapZeroAllocs guards issue 17's "zero allocations per
// request" target: with the ground truth's Recorder tap on, a proxied 2xx
// answer is copied and handed to the capture's worker with no allocation
// once the pool holds grown answers; the worker decodes and stores each
// one without allocating either, since AllocsPerRun counts every
// goroutine's allocations.
func TestCaptureTapZeroAllocs(t *testing.T) {
	fx := newCaptureFixture(t, 100_000, true)
	for range 1000 {
		fx.h.ServeOK(t)
	}
	if n := testing.AllocsPerRun(1000, func() { fx.h.ServeOK(t) }); n != 0 {
		t.Errorf("got %v allocs per request with the ground-truth tap; want 0", n)
	}
	// The measured answers were joined: every one is stored, none dropped,
	// and a request with a known id finds its prediction in the table.
	fx.h.Template.Header.Set("X-Request-Id", "req-alloc-last")
	fx.h.ServeOK(t)
	const served = 1000 + 1 + 1000 + 1 // warm-up, AllocsPerRun's own warm-up run, measured, last
	testutil.Eventually(t, 10*time.Second, "every answer stored", func() bool {
		return promtest.ToFloat64(fx.capture.live) == served
	})
	if d := promtest.ToFloat64(fx.capture.full) + promtest.ToFloat64(fx.capture.tooBig); d != 0 {
		t.Errorf("%v answers dropped; want 0", d)
	}
	if got := fx.table.Len(); got != served {
		t.Errorf("table holds %d entries; want %d", got, served)
	}
	e, res := fx.table.Label([]byte("req-alloc-last"), 0, time.Time{})
	if res != Joined || e.Live != (Pred{Predicted: 1, Score: 0.73}) || e.Arm != 0 || e.Route != 0 {
		t.Errorf("label of req-alloc-last: %s, %+v; want joined with live {1 0.73} on route 0 arm 0", res, e)
	}
}
