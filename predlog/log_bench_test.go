package predlog

import (
	"testing"
)

// BenchmarkOffer is the request path's hand-off to a log whose sink
// keeps up: Acquire, fill and Offer.
func BenchmarkOffer(b *testing.B) {
	s := newMemSink()
	l, _ := newTestLog(&testing.T{}, SinkSpec{Name: "a", Sink: s, Queue: QueueOptions{MaxRecords: 1 << 16, BatchSize: 256}})
	b.Cleanup(func() { _ = closeLog(&testing.T{}, l, 0) })
	city := []byte("Paris")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := l.Acquire()
			r.RequestID, r.Model, r.Route, r.Arm, r.Status = "req", "m", "predict", "stable", 200
			rw := r.AddRow()
			rw.Add("age").SetNumber(30)
			rw.Add("city").SetString(city)
			r.AddPrediction().SetNumber(0.25)
			l.Offer(r)
		}
	})
}
