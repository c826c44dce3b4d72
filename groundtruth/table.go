package groundtruth

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
)

// MaxRowsPerRequest caps the rows stored per request; rows past it are
// not stored and are counted by Table.RowsOverCap.
const MaxRowsPerRequest = 256

// BytesPerEntry bounds the memory of one entry: a 56-byte slot plus its
// share of the index, 8 to 16 bytes (a power of two of 4-byte cells at
// most half full). At 1,000,000 entries it is 64.4 (Table.Bytes).
const BytesPerEntry = slotBytes + 16

const slotBytes = 56

// Pred is one row's prediction: Predicted is the class index, 0/1 or
// value; Score the positive-class score (NaN when none).
type Pred struct{ Predicted, Score float64 }

// Entry is what a label joins: the predictions of one request row.
type Entry struct {
	Route, Arm uint8
	// At is when the first prediction of the row was stored.
	At        time.Time
	Live      Pred
	HasLive   bool
	Shadow    Pred
	HasShadow bool
}

// Result is the outcome of one label.
type Result uint8

// The results of Table.Label, in the order of driftcar_labels_total's
// result label.
const (
	Joined Result = iota
	Unmatched
	Expired
	Duplicate
	Invalid
	numResults
)

var resultNames = [numResults]string{"joined", "unmatched", "expired", "duplicate", "invalid"}

func (r Result) String() string {
	if r < numResults {
		return resultNames[r]
	}
	return fmt.Sprintf("result(%d)", uint8(r))
}

// TableOptions size a Table.
type TableOptions struct {
	// MaxEntries is the number of (request, row) entries kept; required.
	MaxEntries int
	// TTL is how long a prediction waits for its label; required.
	TTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// maxTableEntries keeps slot numbers within the index's uint32 cells.
const maxTableEntries = 1 << 30

// Table joins labels to predictions in fixed memory: a ring of entries
// in insertion order, so the oldest is overwritten first, and an
// open-addressing index of their hashes. See the package comment.
type Table struct {
	ttl int64
	now func() time.Time

	mu    sync.Mutex
	slots []slot
	// index holds slot number + 1 (0 is empty), at hash & mask, probed
	// linearly.
	index []uint32
	mask  uint64
	next  int   // slot the next entry takes
	count int   // slots in use, the newest count before next
	stale int   // of those, the oldest ones known to be past the TTL
	last  int64 // newest At, so At never decreases along the ring

	evicted, rowsOverCap uint64
}

// slot flags.
const (
	hasLive uint8 = 1 << iota
	hasShadow
	labelled
)

// slot is one entry; keep it at slotBytes.
type slot struct {
	key          uint64
	at           int64
	live, shadow Pred
	route, arm   uint8
	flags        uint8
}

// NewTable allocates all of the table's memory.
func NewTable(o TableOptions) (*Table, error) {
	if o.MaxEntries <= 0 || o.MaxEntries > maxTableEntries {
		return nil, fmt.Errorf("max_entries: must be in 1..%d, got %d", maxTableEntries, o.MaxEntries)
	}
	if o.TTL <= 0 {
		return nil, fmt.Errorf("ttl: must be > 0, got %s", o.TTL)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	cells := uint64(1) << bits.Len64(uint64(2*o.MaxEntries-1))
	return &Table{
		ttl:   int64(o.TTL),
		now:   o.Now,
		slots: make([]slot, o.MaxEntries),
		index: make([]uint32, cells),
		mask:  cells - 1,
	}, nil
}

// rowKeys are the row part of an entry's key: distinct random words,
// XORed with the request id's hash.
var rowKeys = func() (k [MaxRowsPerRequest]uint64) {
	var b [8]byte
	for i := range k {
		binary.LittleEndian.PutUint64(b[:], uint64(i))
		k[i] = xxhash.Sum64(b[:])
	}
	return k
}()

func entryKey(idHash uint64, row int) uint64 { return idHash ^ rowKeys[row] }

// PutLive stores the predictions of a live or canary arm for a request,
// one entry per row (row i = preds[i]). A second PutLive of the same row
// replaces its live predictions in place.
func (t *Table) PutLive(requestID []byte, route, arm uint8, preds []Pred) {
	t.put(xxhash.Sum64(requestID), route, arm, preds, false)
}

// PutShadow adds the shadow's predictions to the same entries, creating
// them if the live side has not come yet.
func (t *Table) PutShadow(requestID []byte, route uint8, preds []Pred) {
	t.put(xxhash.Sum64(requestID), route, 0, preds, true)
}

func (t *Table) put(idHash uint64, route, arm uint8, preds []Pred, shadow bool) {
	if len(preds) == 0 {
		return
	}
	now := t.now().UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(preds) > MaxRowsPerRequest {
		t.rowsOverCap += uint64(len(preds) - MaxRowsPerRequest)
		preds = preds[:MaxRowsPerRequest]
	}
	for row, p := range preds {
		key := entryKey(idHash, row)
		s := t.find(key)
		if s == nil {
			s = t.insert(key, now)
			s.route = route
		}
		if shadow {
			s.shadow = p
			s.flags |= hasShadow
			continue
		}
		s.live, s.route, s.arm = p, route, arm
		s.flags |= hasLive
	}
}

// find returns the slot of key, or nil.
func (t *Table) find(key uint64) *slot {
	for i := key & t.mask; ; i = (i + 1) & t.mask {
		c := t.index[i]
		if c == 0 {
			return nil
		}
		if s := &t.slots[c-1]; s.key == key {
			return s
		}
	}
}

// insert takes the next slot for key, overwriting the oldest entry when
// the ring is full.
func (t *Table) insert(key uint64, now int64) *slot {
	if now < t.last {
		now = t.last
	}
	t.last = now
	n := t.next
	s := &t.slots[n]
	if t.count == len(t.slots) {
		t.unindex(n)
		if t.stale > 0 {
			t.stale--
		} else if now-s.at <= t.ttl {
			t.evicted++
		}
	} else {
		t.count++
	}
	*s = slot{key: key, at: now}
	i := key & t.mask
	for t.index[i] != 0 {
		i = (i + 1) & t.mask
	}
	t.index[i] = uint32(n + 1)
	if t.next++; t.next == len(t.slots) {
		t.next = 0
	}
	return s
}

// unindex removes slot n from the index, shifting the cells after it
// back so that no probe sequence breaks (no tombstones).
func (t *Table) unindex(n int) {
	i := t.slots[n].key & t.mask
	for t.index[i] != uint32(n+1) {
		i = (i + 1) & t.mask
	}
	for j := (i + 1) & t.mask; ; j = (j + 1) & t.mask {
		c := t.index[j]
		if c == 0 {
			break
		}
		home := t.slots[c-1].key & t.mask
		// Move c into the hole at i unless its home lies in (i, j].
		if (j-home)&t.mask >= (j-i)&t.mask {
			t.index[i] = c
			i = j
		}
	}
	t.index[i] = 0
}

// Label claims the entry of (request id, row) for a label that arrived
// at at (zero means now). Expired and Duplicate return the entry too,
// for its route.
func (t *Table) Label(requestID []byte, row int, at time.Time) (Entry, Result) {
	if len(requestID) == 0 {
		return Entry{}, Invalid
	}
	return t.label(xxhash.Sum64(requestID), row, at)
}

// labelString is Label for a request id held as a string.
func (t *Table) labelString(requestID string, row int, at time.Time) (Entry, Result) {
	if requestID == "" {
		return Entry{}, Invalid
	}
	return t.label(xxhash.Sum64String(requestID), row, at)
}

// knownString reports whether the table holds row 0 of a request: a label
// for a missing row of a known request is past its batch.
func (t *Table) knownString(requestID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.find(entryKey(xxhash.Sum64String(requestID), 0)) != nil
}

func (t *Table) label(idHash uint64, row int, at time.Time) (Entry, Result) {
	if row < 0 || row >= MaxRowsPerRequest {
		return Entry{}, Invalid
	}
	now, labelAt := t.now().UnixNano(), at.UnixNano()
	if at.IsZero() {
		labelAt = now
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.find(entryKey(idHash, row))
	if s == nil {
		return Entry{}, Unmatched
	}
	e := Entry{
		Route: s.route, Arm: s.arm, At: time.Unix(0, s.at),
		Live: s.live, HasLive: s.flags&hasLive != 0,
		Shadow: s.shadow, HasShadow: s.flags&hasShadow != 0,
	}
	switch {
	case s.flags&labelled != 0:
		return e, Duplicate
	case now-s.at > t.ttl || labelAt-s.at > t.ttl:
		return e, Expired
	}
	s.flags |= labelled
	return e, Joined
}

// Len is the number of entries younger than the TTL.
func (t *Table) Len() int {
	now := t.now().UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.stale < t.count {
		oldest := t.next - t.count + t.stale
		if oldest < 0 {
			oldest += len(t.slots)
		}
		if now-t.slots[oldest].at <= t.ttl {
			break
		}
		t.stale++
	}
	return t.count - t.stale
}

// Evicted counts entries overwritten before their TTL because the table
// was full.
func (t *Table) Evicted() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.evicted
}

// RowsOverCap counts the rows not stored because their request had more
// than MaxRowsPerRequest.
func (t *Table) RowsOverCap() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rowsOverCap
}

// Bytes is the memory NewTable allocated.
func (t *Table) Bytes() int { return len(t.slots)*slotBytes + len(t.index)*4 }
