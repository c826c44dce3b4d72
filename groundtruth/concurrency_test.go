package groundtruth

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestTableConcurrent runs live and shadow writers against labelers on a
// table small enough to evict, and checks that no (id, row) joins twice
// and that every label is answered by one result. Each key is written
// once (the shadow writer has ids of its own), so it can join only once.
func TestTableConcurrent(t *testing.T) {
	const (
		ids       = 10_000
		labelers  = 4
		perLabels = 10_000
	)
	clock := newTestClock()
	tab := newTestTable(t, 5000, time.Hour, clock)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < ids; i += 2 {
				tab.PutLive(reqID(i), 1, uint8(w), preds(2))
			}
		})
	}
	wg.Go(func() {
		for i := ids; i < ids+ids/2; i++ {
			tab.PutShadow(reqID(i), 1, preds(2))
		}
	})
	joined := make([]map[[2]int]bool, labelers)
	counts := make([][numResults]int, labelers)
	for l := range labelers {
		joined[l] = map[[2]int]bool{}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(l), 7))
			for range perLabels {
				k := [2]int{rng.IntN(ids + ids/2), rng.IntN(2)}
				e, res := tab.Label(reqID(k[0]), k[1], clock.Now())
				counts[l][res]++
				if res == Joined {
					joined[l][k] = true
					if shadowOnly := k[0] >= ids; e.Route != 1 || e.HasShadow != shadowOnly || e.HasLive == shadowOnly {
						t.Errorf("joined %v as %+v; want route 1 and only the side written", k, e)
					}
				}
			}
		})
	}
	wg.Wait()
	seen := map[[2]int]bool{}
	total, joins := 0, 0
	for l := range labelers {
		for k := range joined[l] {
			if seen[k] {
				t.Errorf("%v joined by two labelers", k)
			}
			seen[k] = true
		}
		for r, n := range counts[l] {
			total += n
			if Result(r) == Joined {
				joins += n
			}
		}
	}
	if total != labelers*perLabels {
		t.Errorf("%d results; want %d", total, labelers*perLabels)
	}
	if joins == 0 || joins != len(seen) {
		t.Errorf("%d joins for %d distinct keys; want equal and more than 0", joins, len(seen))
	}
	if got := tab.Len(); got != 5000 {
		t.Errorf("Len = %d; want the table full at 5000", got)
	}
	if tab.Evicted() == 0 {
		t.Errorf("Evicted = 0; want evictions from a table smaller than the traffic")
	}
}
