package predlog

import (
	"testing"
)

// BenchmarkOffer is the request path's hand-off: Acquire, fill and
// Offer, to a sink that keeps up and to one that hangs (every record past
// the queue is dropped). Run with:
//
//	go test -run '^$' -bench Offer -benchmem ./predlog/
func BenchmarkOffer(b *testing.B) {
	for _, tc := range []struct {
		name string
		hang bool
	}{{"sink_keeps_up", false}, {"sink_hung", true}} {
		b.Run(tc.name, func(b *testing.B) {
			s := newMemSink()
			if tc.hang {
				s.gate = make(chan struct{})
			}
			l, m := newTestLog(&testing.T{}, SinkSpec{Name: "a", Sink: s, Queue: QueueOptions{MaxRecords: 1 << 14, BatchSize: 256}})
			b.Cleanup(func() {
				if tc.hang {
					close(s.gate)
				}
				_ = closeLog(&testing.T{}, l, 0)
			})
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
			b.StopTimer()
			if tc.hang && readCounts(m, "a").dropped[ReasonQueueFull] == 0 && b.N > 1<<15 {
				b.Fatalf("no queue_full drops with a hung sink")
			}
		})
	}
}
