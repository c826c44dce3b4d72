//go:build !race

package predlog

import (
	"testing"
	"time"
)

// TestAllocationOffer checks that Acquire, filling a record and Offer
// allocate nothing once the pool holds grown records, whether the record
// is queued or dropped.
func TestAllocationOffer(t *testing.T) {
	s := newMemSink()
	s.gate = make(chan struct{})
	l, m := newTestLog(t, SinkSpec{Name: "a", Sink: s, Queue: QueueOptions{MaxRecords: 2000, BatchSize: 100}})
	body := []byte(`{"instances":[[30,"Paris"],[31,"Paris"]]}`)
	city := []byte("Paris")
	fillStatic := func(r *Record) {
		r.RequestID, r.Time = "req-1", time.Unix(1700000000, 0)
		r.Model, r.Route, r.Arm, r.Status, r.LatencySeconds = "m", "predict", "stable", 200, 0.01
		for row := range 2 {
			rw := r.AddRow()
			rw.Add("age").SetNumber(float64(30 + row))
			rw.Add("city").SetString(city)
			r.AddPrediction().SetNumber(0.25)
		}
		r.SetRequestBody(body)
		r.SetResponseBody(body)
	}
	run := func() {
		r := l.Acquire()
		fillStatic(r)
		l.Offer(r)
	}
	// Warm up: grow records, let them come back through the sink.
	for range 1000 {
		run()
	}
	close(s.gate)
	for range 3 {
		for range 1000 {
			run()
		}
	}
	waitDrained(t, l)

	// Queued: the sink is held so that its goroutine allocates nothing.
	hold := make(chan struct{})
	s.mu.Lock()
	s.gate = hold
	s.mu.Unlock()
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("queued Offer: %v allocations; want 0", n)
	}
	// Dropped: the queue is full.
	for range 2000 {
		run()
	}
	before := readCounts(m, "a").dropped[ReasonQueueFull]
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("dropped Offer: %v allocations; want 0", n)
	}
	if after := readCounts(m, "a").dropped[ReasonQueueFull]; after < before+200 {
		t.Errorf("queue_full drops went %v -> %v; want +200 at least", before, after)
	}
	close(hold)
	if err := closeLog(t, l, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestAllocationAppendJSON(t *testing.T) {
	r := &Record{}
	fill(r, 1)
	r.Shadow.Mirrored, r.Shadow.Status, r.Shadow.Outcome = true, 200, "match"
	r.Shadow.AddPrediction().SetNumber(0.3)
	r.AddHeader("x-user", []byte("u1"))
	buf := r.AppendJSON(nil)
	if n := testing.AllocsPerRun(100, func() { buf = r.AppendJSON(buf[:0]) }); n != 0 {
		t.Errorf("AppendJSON: %v allocations; want 0", n)
	}
}
