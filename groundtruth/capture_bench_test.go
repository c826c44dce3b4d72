package groundtruth

import (
	"testing"

	promtest "github.com/prometheus/client_golang/prometheus/testutil"
)

// BenchmarkHandlerGroundTruth is the proxy request path to a loopback
// stub without and with the ground truth's Recorder tap (every 2xx answer
// copied onto the capture's queue; its worker decodes the prediction into
// a 1,000,000-entry table on another goroutine). dropped/op counts
// answers the tap could not queue.
//
//	go test -run '^$' -bench BenchmarkHandlerGroundTruth -benchmem -count 6 ./groundtruth/
func BenchmarkHandlerGroundTruth(b *testing.B) {
	for _, tapped := range []bool{false, true} {
		name := map[bool]string{false: "tap=off", true: "tap=on"}[tapped]
		b.Run(name, func(b *testing.B) {
			fx := newCaptureFixture(b, benchEntries, tapped)
			fx.h.ServeOK(b)
			b.ReportAllocs()
			b.SetBytes(int64(len(captureRequest)))
			for b.Loop() {
				fx.h.ServeOK(b)
			}
			if fx.capture != nil {
				dropped := promtest.ToFloat64(fx.capture.full) + promtest.ToFloat64(fx.capture.tooBig)
				b.ReportMetric(dropped/float64(b.N), "dropped/op")
			}
		})
	}
}
