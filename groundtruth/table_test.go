package groundtruth

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"
)

func TestSlotSize(t *testing.T) {
	if got := unsafe.Sizeof(slot{}); got != slotBytes {
		t.Fatalf("slot is %d bytes; want slotBytes = %d", got, slotBytes)
	}
}

func TestNewTableRejects(t *testing.T) {
	for _, o := range []TableOptions{
		{MaxEntries: 0, TTL: time.Hour},
		{MaxEntries: maxTableEntries + 1, TTL: time.Hour},
		{MaxEntries: 10, TTL: 0},
	} {
		if _, err := NewTable(o); err == nil {
			t.Errorf("NewTable(%+v) = nil error; want one", o)
		}
	}
}

func TestTableJoin(t *testing.T) {
	clock := newTestClock()
	tab := newTestTable(t, 100, time.Hour, clock)
	tab.PutLive(reqID(1), 2, 1, []Pred{{1, 0.9}, {0, 0.2}})
	tab.PutShadow(reqID(1), 2, []Pred{{0, 0.4}, {0, 0.1}})
	predicted := clock.Now()
	clock.Advance(time.Minute)

	e, res := tab.Label(reqID(1), 1, clock.Now())
	want := Entry{Route: 2, Arm: 1, At: predicted, Live: Pred{0, 0.2}, HasLive: true, Shadow: Pred{0, 0.1}, HasShadow: true}
	if res != Joined || !e.At.Equal(want.At) {
		t.Fatalf("Label row 1 = %+v, %s; want %+v, joined", e, res, want)
	}
	e.At = want.At
	if e != want {
		t.Errorf("Label row 1 = %+v; want %+v", e, want)
	}
	if _, res := tab.Label(reqID(1), 1, clock.Now()); res != Duplicate {
		t.Errorf("second label of row 1: %s; want duplicate", res)
	}
	if e, res := tab.Label(reqID(1), 0, clock.Now()); res != Joined || e.Live != (Pred{1, 0.9}) {
		t.Errorf("label of row 0 = %+v, %s; want live {1 0.9}, joined", e, res)
	}
	for _, tc := range []struct {
		id   []byte
		row  int
		want Result
	}{
		{reqID(2), 0, Unmatched},
		{reqID(1), 2, Unmatched},
		{nil, 0, Invalid},
		{reqID(1), -1, Invalid},
		{reqID(1), MaxRowsPerRequest, Invalid},
	} {
		if _, res := tab.Label(tc.id, tc.row, clock.Now()); res != tc.want {
			t.Errorf("Label(%q, %d) = %s; want %s", tc.id, tc.row, res, tc.want)
		}
	}
	if got := tab.Len(); got != 2 {
		t.Errorf("Len = %d; want 2", got)
	}
}

// TestTableShadowFirst: the shadow's answer may be stored before the
// live one; both end in one entry, with the live arm.
func TestTableShadowFirst(t *testing.T) {
	clock := newTestClock()
	tab := newTestTable(t, 10, time.Hour, clock)
	tab.PutShadow(reqID(7), 3, []Pred{{1, math.NaN()}})
	if e, res := tab.Label(reqID(7), 0, clock.Now()); res != Joined || e.HasLive || !e.HasShadow || !math.IsNaN(e.Shadow.Score) {
		t.Fatalf("shadow-only label = %+v, %s; want joined with the shadow only", e, res)
	}
	tab.PutShadow(reqID(8), 3, []Pred{{1, 0.7}})
	tab.PutLive(reqID(8), 3, 2, []Pred{{0, 0.3}})
	e, res := tab.Label(reqID(8), 0, clock.Now())
	if res != Joined || e.Arm != 2 || e.Live != (Pred{0, 0.3}) || e.Shadow != (Pred{1, 0.7}) {
		t.Errorf("Label = %+v, %s; want arm 2 live {0 0.3} shadow {1 0.7}", e, res)
	}
	if got := tab.Len(); got != 2 {
		t.Errorf("Len = %d; want 2 (one entry per request row)", got)
	}
}

func TestTableExpired(t *testing.T) {
	clock := newTestClock()
	tab := newTestTable(t, 10, time.Hour, clock)
	tab.PutLive(reqID(1), 0, 0, preds(3))
	start := clock.Now()

	if _, res := tab.Label(reqID(1), 0, start.Add(time.Hour+time.Second)); res != Expired {
		t.Errorf("label observed past the TTL: %s; want expired", res)
	}
	if _, res := tab.Label(reqID(1), 0, start.Add(time.Hour)); res != Joined {
		t.Errorf("label observed at the TTL: %s; want joined", res)
	}
	clock.Advance(time.Hour + time.Nanosecond)
	if _, res := tab.Label(reqID(1), 1, start); res != Expired {
		t.Errorf("label of an entry past the TTL: %s; want expired", res)
	}
	if got := tab.Len(); got != 0 {
		t.Errorf("Len past the TTL = %d; want 0", got)
	}
	// Expired entries are overwritten without counting as evicted.
	for i := range 10 {
		tab.PutLive(reqID(100+i), 0, 0, preds(1))
	}
	if got := tab.Evicted(); got != 0 {
		t.Errorf("Evicted = %d; want 0 (the overwritten entries had expired)", got)
	}
	if _, res := tab.Label(reqID(1), 2, clock.Now()); res != Unmatched {
		t.Errorf("label of an overwritten entry: %s; want unmatched", res)
	}
	if got := tab.Len(); got != 10 {
		t.Errorf("Len = %d; want 10", got)
	}
}

func TestTableEvictsOldest(t *testing.T) {
	clock := newTestClock()
	tab := newTestTable(t, 4, time.Hour, clock)
	for i := range 6 {
		tab.PutLive(reqID(i), 0, 0, preds(1))
		clock.Advance(time.Second)
	}
	if got := tab.Evicted(); got != 2 {
		t.Errorf("Evicted = %d; want 2", got)
	}
	if got := tab.Len(); got != 4 {
		t.Errorf("Len = %d; want 4", got)
	}
	for i := range 6 {
		want := Joined
		if i < 2 {
			want = Unmatched
		}
		if _, res := tab.Label(reqID(i), 0, clock.Now()); res != want {
			t.Errorf("label of request %d: %s; want %s", i, res, want)
		}
	}
}

func TestTableRowsOverCap(t *testing.T) {
	clock := newTestClock()
	tab := newTestTable(t, 1000, time.Hour, clock)
	tab.PutLive(reqID(1), 0, 0, preds(MaxRowsPerRequest+4))
	if got := tab.RowsOverCap(); got != 4 {
		t.Errorf("RowsOverCap = %d; want 4", got)
	}
	if e, res := tab.Label(reqID(1), MaxRowsPerRequest-1, clock.Now()); res != Joined || e.Live.Predicted != MaxRowsPerRequest-1 {
		t.Errorf("last stored row = %+v, %s; want joined", e, res)
	}
	if got := tab.Len(); got != MaxRowsPerRequest {
		t.Errorf("Len = %d; want %d", got, MaxRowsPerRequest)
	}
}

// TestTableMatchesModel drives a small table with random puts and labels
// and checks each answer against a plain model of the ring, so that the
// index's deletions never lose or invent an entry.
func TestTableMatchesModel(t *testing.T) {
	const size = 97
	clock := newTestClock()
	tab := newTestTable(t, size, time.Hour, clock)
	rng := rand.New(rand.NewPCG(1, 2))
	type key struct{ id, row int }
	var ring []key // oldest first
	var dropped uint64
	labelled := map[key]bool{}
	stored := func(k key) bool {
		for _, r := range ring {
			if r == k {
				return true
			}
		}
		return false
	}
	steps := 200_000
	if raceEnabled {
		steps = 20_000
	}
	for step := range steps {
		id := rng.IntN(400)
		if rng.IntN(2) == 0 {
			rows := 1 + rng.IntN(3)
			tab.PutLive(reqID(id), 0, 0, preds(rows))
			for r := range rows {
				k := key{id, r}
				if stored(k) {
					continue
				}
				if len(ring) == size {
					delete(labelled, ring[0])
					dropped++
					ring = ring[1:]
				}
				ring = append(ring, k)
			}
			continue
		}
		k := key{id, rng.IntN(3)}
		want := Unmatched
		switch {
		case stored(k) && labelled[k]:
			want = Duplicate
		case stored(k):
			want = Joined
			labelled[k] = true
		}
		if _, res := tab.Label(reqID(k.id), k.row, clock.Now()); res != want {
			t.Fatalf("step %d: Label(%d, %d) = %s; want %s", step, k.id, k.row, res, want)
		}
	}
	if got := tab.Len(); got != len(ring) {
		t.Errorf("Len = %d; want %d", got, len(ring))
	}
	if got := tab.Evicted(); got != dropped || dropped == 0 {
		t.Errorf("Evicted = %d; want %d, more than 0", got, dropped)
	}
}
