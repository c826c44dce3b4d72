package predlog

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/backoff"
	"github.com/driftcar/driftcar/internal/testutil"
)

var fastRetry = backoff.Policy{Initial: time.Millisecond, Max: 5 * time.Millisecond, Multiplier: 2}

// TestAccounting offers records from several goroutines to a healthy, a
// flaky, a dead and a hung sink with small queues, and checks that every
// record ends as written or dropped on every sink, exactly.
func TestAccounting(t *testing.T) {
	ok := newMemSink()
	flaky := newMemSink()
	flaky.fail = func(call int) bool { return call%3 != 0 }
	dead := newMemSink()
	dead.fail = func(int) bool { return true }
	hung := newMemSink()
	hung.gate = make(chan struct{}) // never opens
	q := QueueOptions{MaxRecords: 64, BatchSize: 8, MaxAttempts: 2, Backoff: fastRetry, WriteTimeout: time.Second}
	l, m := newTestLog(t,
		SinkSpec{Name: "ok", Sink: ok, Queue: QueueOptions{MaxRecords: 100000}},
		SinkSpec{Name: "flaky", Sink: flaky, Queue: q},
		SinkSpec{Name: "dead", Sink: dead, Queue: q},
		SinkSpec{Name: "hung", Sink: hung, Queue: q},
	)
	const goroutines, per = 4, 2000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range per {
				r := l.Acquire()
				fill(r, g*per+i)
				l.Offer(r)
			}
		})
	}
	wg.Wait()
	// The healthy sink drains; the hung one only ends at the deadline.
	testutil.Eventually(t, 10*time.Second, "healthy sink drained", func() bool {
		return readCounts(m, "ok").written == goroutines*per
	})
	if err := closeLog(t, l, 200*time.Millisecond); err == nil {
		t.Fatalf("Close with a hung sink: got nil; want a deadline error")
	}
	// Offers after Close are dropped as closed.
	r := l.Acquire()
	fill(r, 999999)
	if l.Offer(r) {
		t.Fatalf("Offer after Close: got true; want false")
	}
	const offered = goroutines*per + 1
	for _, name := range []string{"ok", "flaky", "dead", "hung"} {
		c := readCounts(m, name)
		if got := c.written + c.droppedTotal(); got != offered {
			t.Errorf("%s: written %v + dropped %v = %v; want %d", name, c.written, c.dropped, got, offered)
		}
		if c.dropped[ReasonClosed] < 1 {
			t.Errorf("%s: dropped closed = %v; want >= 1", name, c.dropped[ReasonClosed])
		}
	}
	for _, s := range l.runners {
		if d, b := s.depth.Load(), s.bytes.Load(); d != 0 || b != 0 {
			t.Errorf("%s: after Close depth %d, bytes %d; want 0, 0", s.name, d, b)
		}
	}
	if c := readCounts(m, "ok"); c.written != goroutines*per || ok.distinct() != goroutines*per {
		t.Errorf("ok: written %v, distinct ids %d; want %d", c.written, ok.distinct(), goroutines*per)
	}
	c := readCounts(m, "flaky")
	if c.written != float64(flaky.distinct()) {
		t.Errorf("flaky: written %v; sink holds %d ids", c.written, flaky.distinct())
	}
	if c.failed == 0 || c.dropped[ReasonRetriesExhausted] == 0 {
		t.Errorf("flaky: failed %v, retries_exhausted %v; want both > 0", c.failed, c.dropped[ReasonRetriesExhausted])
	}
	if c := readCounts(m, "dead"); c.written != 0 || c.dropped[ReasonRetriesExhausted] == 0 || c.dropped[ReasonQueueFull] == 0 {
		t.Errorf("dead: %+v; want nothing written, retries_exhausted and queue_full drops", c)
	}
	if c := readCounts(m, "hung"); c.written != 0 || c.dropped[ReasonQueueFull] == 0 {
		t.Errorf("hung: %+v; want nothing written and queue_full drops", c)
	}
}

func TestCloseDrains(t *testing.T) {
	s := newMemSink()
	s.gate = make(chan struct{})
	l, m := newTestLog(t, SinkSpec{Name: "slow", Sink: s, Queue: QueueOptions{MaxRecords: 1000, BatchSize: 10}})
	for i := range 500 {
		r := l.Acquire()
		fill(r, i)
		l.Offer(r)
	}
	close(s.gate) // the sink answers from now on
	if err := closeLog(t, l, 10*time.Second); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if c := readCounts(m, "slow"); c.written != 500 || c.droppedTotal() != 0 {
		t.Fatalf("got %+v; want all 500 written", c)
	}
}

func TestBytesFull(t *testing.T) {
	s := newMemSink()
	s.gate = make(chan struct{})
	r0 := &Record{}
	fill(r0, 0)
	size := r0.Size()
	l, m := newTestLog(t, SinkSpec{Name: "small", Sink: s, Queue: QueueOptions{MaxRecords: 100, MaxBytes: 10 * size}})
	taken := 0
	for i := range 50 {
		r := l.Acquire()
		fill(r, i)
		if l.Offer(r) {
			taken++
		}
	}
	if taken != 10 {
		t.Errorf("taken %d; want 10 (MaxBytes fits 10 records)", taken)
	}
	if c := readCounts(m, "small"); c.dropped[ReasonBytesFull] != 40 {
		t.Errorf("bytes_full drops %v; want 40", c.dropped[ReasonBytesFull])
	}
	close(s.gate)
	if err := closeLog(t, l, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestNewValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		specs []SinkSpec
		want  string
	}{
		{"bad name", []SinkSpec{{Name: "Bad Name", Sink: newMemSink()}}, "sinks[0].name"},
		{"duplicate", []SinkSpec{{Name: "a", Sink: newMemSink()}, {Name: "a", Sink: newMemSink()}}, `sinks[1].name: duplicate "a"`},
		{"no sink", []SinkSpec{{Name: "a"}}, "sinks[0]: no sink"},
		{"negative queue", []SinkSpec{{Name: "a", Sink: newMemSink(), Queue: QueueOptions{MaxRecords: -1}}}, "sinks[0].max_records"},
		{"batch above queue", []SinkSpec{{Name: "a", Sink: newMemSink(), Queue: QueueOptions{MaxRecords: 5, BatchSize: 10}}}, "sinks[0].batch_size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMetrics(nopRegisterer{})
			_, err := New(nil, m, tc.specs...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestOfferDuringClose offers from several goroutines while Close runs;
// every offer is still counted exactly once per sink.
func TestOfferDuringClose(t *testing.T) {
	a, b := newMemSink(), newMemSink()
	b.fail = func(call int) bool { return call%2 == 0 }
	q := QueueOptions{MaxRecords: 256, BatchSize: 16, MaxAttempts: 3, Backoff: fastRetry}
	l, m := newTestLog(t, SinkSpec{Name: "a", Sink: a, Queue: q}, SinkSpec{Name: "b", Sink: b, Queue: q})
	const goroutines = 4
	var offered [goroutines]int
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := l.Acquire()
				fill(r, g*1000000+i)
				l.Offer(r)
				offered[g]++
			}
		})
	}
	testutil.Eventually(t, 10*time.Second, "traffic flowing", func() bool { return readCounts(m, "a").written > 1000 })
	closeErr := closeLog(t, l, 2*time.Second)
	close(stop)
	wg.Wait()
	if closeErr != nil {
		t.Errorf("Close: %v", closeErr)
	}
	total := 0
	for _, n := range offered {
		total += n
	}
	for _, name := range []string{"a", "b"} {
		c := readCounts(m, name)
		if got := c.written + c.droppedTotal(); got != float64(total) {
			t.Errorf("%s: written %v + dropped %v = %v; want %d offered", name, c.written, c.dropped, got, total)
		}
		if c.dropped[ReasonClosed] == 0 {
			t.Errorf("%s: no closed drops; want offers after Close counted", name)
		}
	}
}
