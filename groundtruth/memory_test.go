package groundtruth

import (
	"runtime"
	"testing"
	"time"
)

// heapInUse is the live heap after two collections: the second frees
// what earlier tests left in sync.Pool victim caches.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestTableMemory builds a table of 1,000,000 entries, fills it twice
// over, and checks that the heap grew by the table's fixed size, within
// BytesPerEntry per entry.
func TestTableMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 64 MB and makes 2M puts (3.4 s under -race)")
	}
	const n = 1_000_000
	clock := newTestClock()
	before := heapInUse()
	tab := newTestTable(t, n, time.Hour, clock)
	row := preds(1)
	id := make([]byte, 0, 16)
	for i := range 2 * n {
		id = append(id[:0], "req-"...)
		id = appendInt(id, i)
		tab.PutLive(id, 0, 0, row)
	}
	grown := heapInUse() - before
	perEntry := float64(grown) / n
	t.Logf("heap grew %d bytes: %.2f per entry (Bytes() = %d, BytesPerEntry = %d)", grown, perEntry, tab.Bytes(), BytesPerEntry)
	if limit := BytesPerEntry * n * 1.05; float64(grown) > limit {
		t.Errorf("heap grew %d bytes; want <= BytesPerEntry × n × 1.05 = %.0f", grown, limit)
	}
	if limit := float64(tab.Bytes()) * 1.05; float64(grown) > limit {
		t.Errorf("heap grew %d bytes; want <= Bytes() × 1.05 = %.0f", grown, limit)
	}
	if limit := float64(tab.Bytes()) * 0.95; float64(grown) < limit {
		t.Errorf("heap grew %d bytes; want >= Bytes() × 0.95 = %.0f (is the measure broken?)", grown, limit)
	}
	if got := tab.Len(); got != n {
		t.Errorf("Len = %d; want %d", got, n)
	}
	if got := tab.Evicted(); got != n {
		t.Errorf("Evicted = %d; want %d", got, n)
	}
	runtime.KeepAlive(tab)
}

func appendInt(b []byte, i int) []byte {
	var d [20]byte
	p := len(d)
	for {
		p--
		d[p] = byte('0' + i%10)
		if i /= 10; i == 0 {
			break
		}
	}
	return append(b, d[p:]...)
}
