package groundtruth

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// testClock is a clock the test moves.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newTestTable(t testing.TB, maxEntries int, ttl time.Duration, clock *testClock) *Table {
	t.Helper()
	tab, err := NewTable(TableOptions{MaxEntries: maxEntries, TTL: ttl, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func reqID(i int) []byte { return []byte("req-" + strconv.Itoa(i)) }

// preds returns n rows, row r predicting r with score r/1000.
func preds(n int) []Pred {
	p := make([]Pred, n)
	for r := range p {
		p[r] = Pred{Predicted: float64(r), Score: float64(r) / 1000}
	}
	return p
}
