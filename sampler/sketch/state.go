package sketch

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/axiomhq/hyperloglog"
	"github.com/driftcar/driftcar/internal/payload"
)

// StateOptions tune a State. Zero fields take the documented defaults.
type StateOptions struct {
	// Slices is the number of time slices in the ring; windows can span at
	// most this many. Default 60.
	Slices int
	// SliceDuration is the length of one slice. Default 1m.
	SliceDuration time.Duration
	// HLLPrecision is the precision p of the distinct-value sketches of
	// categorical features (2^p one-byte registers, relative error about
	// 1.04/sqrt(2^p)). Default 10 (1 KiB, 3.3%).
	HLLPrecision uint8
	// HLLGroupSlices is the number of slices one distinct-value sketch
	// covers; distinct estimates have this granularity. Default 10.
	HLLGroupSlices int
	// TopK is the number of entries of the Space-Saving summary of UNSEEN
	// values of a categorical feature. Default 32.
	TopK int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (o *StateOptions) defaults() {
	if o.Slices <= 0 {
		o.Slices = 60
	}
	if o.SliceDuration <= 0 {
		o.SliceDuration = time.Minute
	}
	if o.HLLPrecision == 0 {
		o.HLLPrecision = 10
	}
	if o.HLLGroupSlices <= 0 {
		o.HLLGroupSlices = 10
	}
	if o.HLLGroupSlices > o.Slices {
		o.HLLGroupSlices = o.Slices
	}
	if o.TopK <= 0 {
		o.TopK = 32
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// State is the live, fixed-memory distribution state of one route: per
// feature (and the prediction), exact integer counts per reference cell in
// a ring of time slices, plus per-slice count, sum and sum of squares for
// numeric features, and a distinct-value sketch and a top-k of unseen
// values for categorical features.
//
// All methods are safe for concurrent use. Observe is lock-free except
// when it starts a new slice, and for categorical features, whose
// sketches sit behind a per-feature mutex. A State must not be copied.
type State struct {
	opts       StateOptions
	ring       int   // slots: Slices + 1 spare
	sliceNanos int64 // slice length
	cur        atomic.Int64
	first      int64 // epoch of the first slice
	mu         sync.Mutex
	feats      []*fstate // features, then the prediction
	nfeat      int
	hasPred    bool
	groups     int             // sketch groups of categorical features
	rows       []atomic.Uint64 // per slot
	rowsOld    uint64          // rows in retired slots
	profile    *Profile
}

// fstate is one feature's counters. cells holds ring slots of stride
// words: ncells counters, then (numeric) the float64 bits of Σx and Σx².
type fstate struct {
	name    string
	typ     payload.FeatureType
	lay     Layout
	ncells  int // lay.Len()
	stride  int
	cells   []atomic.Uint64
	old     []uint64 // retired counts (cumulative since start)
	oldSum  float64
	oldSum2 float64
	prof    *FeatureProfile

	// numeric
	edges    []float64
	min, max float64

	// categorical
	dict   map[string]uint16
	tail   *bloom
	mu     sync.Mutex // guards hll and top
	hll    []*hyperloglog.Sketch
	top    *spaceSaving
	groups int
}

// NewState returns the live state for features (in the order of the
// Decoder's specs) and, when pred is not nil, the prediction, using the
// reference distributions in p.
func NewState(p *Profile, features []payload.FeatureSpec, pred *payload.PredictionSpec, opts StateOptions) (*State, error) {
	opts.defaults()
	if p == nil {
		return nil, errors.New("cannot create state: no reference profile")
	}
	if p.index == nil {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("cannot create state: %w", err)
		}
	}
	if _, err := hyperloglog.NewSketch(opts.HLLPrecision, false); err != nil {
		return nil, fmt.Errorf("cannot create state: hll precision %d: %w", opts.HLLPrecision, err)
	}
	s := &State{
		opts:       opts,
		ring:       opts.Slices + 1,
		sliceNanos: int64(opts.SliceDuration),
		nfeat:      len(features),
		profile:    p,
	}
	s.rows = make([]atomic.Uint64, s.ring)
	s.groups = (opts.Slices+opts.HLLGroupSlices-1)/opts.HLLGroupSlices + 1
	ep := s.epoch(opts.Now())
	s.cur.Store(ep)
	s.first = ep
	for i, f := range features {
		fp := p.Feature(f.Name)
		if fp == nil {
			return nil, fmt.Errorf("cannot create state: features[%d]: no reference for %q", i, f.Name)
		}
		if fp.Type != f.Type.String() {
			return nil, fmt.Errorf("cannot create state: features[%d] (%s): type %s, reference has %s", i, f.Name, f.Type, fp.Type)
		}
		s.feats = append(s.feats, s.newFState(fp))
	}
	if pred != nil {
		fp := p.Prediction
		if fp == nil {
			return nil, errors.New("cannot create state: prediction: no reference")
		}
		if fp.Type != pred.Type.String() {
			return nil, fmt.Errorf("cannot create state: prediction: type %s, reference has %s", pred.Type, fp.Type)
		}
		s.feats = append(s.feats, s.newFState(fp))
		s.hasPred = true
	}
	return s, nil
}

func (s *State) newFState(fp *FeatureProfile) *fstate {
	f := &fstate{name: fp.Name, prof: fp, lay: fp.Layout()}
	if fp.Type == "numeric" {
		f.typ = payload.Numeric
		f.edges = fp.Edges
		f.min, f.max = fp.Min, fp.Max
		if fp.Count == 0 {
			// No reference values: everything is out of range.
			f.min, f.max = math.Inf(1), math.Inf(-1)
		}
		f.ncells = f.lay.Len()
		f.stride = f.ncells + 2
	} else {
		f.typ = payload.Categorical
		f.dict = make(map[string]uint16, len(fp.Categories))
		for i, c := range fp.Categories {
			f.dict[c.Value] = uint16(i)
		}
		f.tail = s.profile.tail(fp.Name)
		f.ncells = f.lay.Len()
		f.stride = f.ncells
		f.groups = s.groups
		f.hll = make([]*hyperloglog.Sketch, f.groups)
		for i := range f.hll {
			f.hll[i], _ = hyperloglog.NewSketch(s.opts.HLLPrecision, false)
		}
		f.top = newSpaceSaving(s.opts.TopK)
	}
	f.cells = make([]atomic.Uint64, s.ring*f.stride)
	f.old = make([]uint64, f.ncells)
	return f
}

func (s *State) epoch(t time.Time) int64 {
	n := t.UnixNano()
	e := n / s.sliceNanos
	if n < 0 && n%s.sliceNanos != 0 {
		e--
	}
	return e
}

// advance makes the slice of now current and returns its epoch. A clock
// that goes back keeps writing to the current slice.
func (s *State) advance(now time.Time) int64 {
	e := s.epoch(now)
	cur := s.cur.Load()
	if e <= cur {
		// Fast path: same slice.
		return cur
	}
	// Slow path: start new slices.
	s.mu.Lock()
	cur = s.cur.Load()
	if e > cur {
		s.rotateLocked(cur, e)
		s.cur.Store(e)
		cur = e
	}
	s.mu.Unlock()
	return cur
}

// rotateLocked retires and zeroes the slots of epochs cur+1..e, so each
// is empty before it becomes current. The ring has one spare slot, so the
// slot being zeroed is never part of a window.
func (s *State) rotateLocked(cur, e int64) {
	from := max(cur+1, e-int64(s.ring)+1)
	g := int64(s.opts.HLLGroupSlices)
	for ep := from; ep <= e; ep++ {
		slot := int(ep % int64(s.ring))
		s.rowsOld += s.rows[slot].Swap(0)
		newGroup := ep%g == 0 || ep == from && ep/g != cur/g
		for _, f := range s.feats {
			base := slot * f.stride
			for c := 0; c < f.ncells; c++ {
				f.old[c] += f.cells[base+c].Swap(0)
			}
			if f.typ == payload.Numeric {
				f.oldSum += math.Float64frombits(f.cells[base+f.ncells].Swap(0))
				f.oldSum2 += math.Float64frombits(f.cells[base+f.ncells+1].Swap(0))
			} else if newGroup {
				f.mu.Lock()
				gi := int((ep / g) % int64(f.groups))
				f.hll[gi], _ = hyperloglog.NewSketch(s.opts.HLLPrecision, false)
				f.top.decay()
				f.mu.Unlock()
			}
		}
	}
}

func addFloat(a *atomic.Uint64, x float64) {
	for {
		old := a.Load()
		if a.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+x)) {
			return
		}
	}
}

// Observe adds the rows of a decoded batch to the current slice. The
// batch's values must follow the order of the specs given to NewState.
func (s *State) Observe(b *payload.Batch) {
	if b.Rows == 0 {
		return
	}
	ep := s.advance(s.opts.Now())
	slot, gi := s.slotOf(ep)
	s.rows[slot].Add(uint64(b.Rows))
	nf := min(b.Features, s.nfeat)
	for r := 0; r < b.Rows; r++ {
		row := b.Values[r*b.Features : r*b.Features+nf]
		for j := range row {
			s.feats[j].observe(slot, gi, &row[j])
		}
		if s.hasPred {
			p := s.feats[len(s.feats)-1]
			if r < len(b.Predictions) {
				p.observe(slot, gi, &b.Predictions[r])
			} else {
				p.cells[slot*p.stride+p.lay.Missing()].Add(1)
			}
		}
	}
}

// ObserveValue adds one value of feature i (the prediction is index
// len(features)) to the current slice.
func (s *State) ObserveValue(i int, v *payload.Value) {
	slot, gi := s.slotOf(s.advance(s.opts.Now()))
	s.feats[i].observe(slot, gi, v)
}

// slotOf returns the ring slot and the sketch group slot of epoch ep.
func (s *State) slotOf(ep int64) (slot, group int) {
	return int(ep % int64(s.ring)), int((ep / int64(s.opts.HLLGroupSlices)) % int64(s.groups))
}

// observe counts v in its cell of f.lay.
func (f *fstate) observe(slot, gi int, v *payload.Value) {
	base := slot * f.stride
	switch v.Kind {
	case payload.ValueMissing:
		f.cells[base+f.lay.Missing()].Add(1)
		return
	case payload.ValueInvalid:
		f.cells[base+f.lay.Invalid()].Add(1)
		return
	}
	if f.typ == payload.Numeric {
		if v.Kind != payload.ValueNumber {
			f.cells[base+f.lay.Invalid()].Add(1)
			return
		}
		x := v.Num
		switch {
		case x < f.min:
			f.cells[base+f.lay.BelowMin()].Add(1)
		case x > f.max:
			f.cells[base+f.lay.AboveMax()].Add(1)
		case x == x:
			f.cells[base+cellOf(f.edges, x)].Add(1)
		default: // NaN
			f.cells[base+f.lay.Invalid()].Add(1)
			return
		}
		addFloat(&f.cells[base+f.ncells], x)
		addFloat(&f.cells[base+f.ncells+1], x*x)
		return
	}
	var str []byte
	if v.Kind == payload.ValueString {
		str = v.Str
	} else {
		// A number for a categorical feature: use its shortest form.
		var buf [32]byte
		str = strconv.AppendFloat(buf[:0], v.Num, 'g', -1, 64)
	}
	h := hashBytes(str)
	unseen := false
	if i, ok := f.dict[string(str)]; ok {
		f.cells[base+int(i)].Add(1)
	} else if f.tail.has(h) {
		f.cells[base+f.lay.Other()].Add(1)
	} else {
		f.cells[base+f.lay.Unseen()].Add(1)
		unseen = true
	}
	f.mu.Lock()
	f.hll[gi].InsertHash(h)
	if unseen {
		f.top.add(str)
	}
	f.mu.Unlock()
}

// Counts are the exact counts of a window of slices.
type Counts struct {
	// Slices is the number of slices summed (at most the number asked,
	// fewer right after the start).
	Slices int
	// Cells are the counts per cell, in the order of State.Layout and
	// State.CellNames: numeric bins then below-min, above-max, missing,
	// invalid; categorical dictionary then other, unseen, missing, invalid.
	Cells []uint64
	// N is the number of observations (the sum of Cells).
	N uint64
	// Valid is the number of numeric values (bins, below-min, above-max)
	// or of categorical values (dictionary, other, unseen).
	Valid uint64
	// Sum and SumSq are Σx and Σx² over the valid numeric values.
	Sum, SumSq float64
	// Distinct estimates the distinct categorical values over the last
	// DistinctSlices slices (the window rounded up to whole sketch groups).
	Distinct       uint64
	DistinctSlices int
}

// NumFeatures returns the number of features, not counting the prediction.
func (s *State) NumFeatures() int { return s.nfeat }

// FeatureIndex returns the index of the named feature or prediction.
func (s *State) FeatureIndex(name string) (int, bool) {
	for i, f := range s.feats {
		if f.name == name {
			return i, true
		}
	}
	return 0, false
}

// Profile returns the reference profile of s.
func (s *State) Profile() *Profile { return s.profile }

// Reference returns the reference profile of feature i.
func (s *State) Reference(i int) *FeatureProfile { return s.feats[i].prof }

// CellNames returns the names of the cells of feature i: numeric
// "le=<edge>" per bin ("le=+Inf" for the last), then "__below_min__",
// "__above_max__", "__missing__", "__invalid__"; categorical the
// dictionary values, then "__other__", "__unseen__", "__missing__",
// "__invalid__".
func (s *State) CellNames(i int) []string {
	f := s.feats[i]
	names := make([]string, 0, f.ncells)
	if f.typ == payload.Numeric {
		for _, e := range f.edges {
			names = append(names, "le="+strconv.FormatFloat(e, 'g', -1, 64))
		}
		return append(names, "le=+Inf", "__below_min__", "__above_max__", CellMissing, CellInvalid)
	}
	for _, c := range f.prof.Categories {
		names = append(names, c.Value)
	}
	return append(names, CellOther, CellUnseen, CellMissing, CellInvalid)
}

// Window returns the counts of feature i over the last k slices (the
// current one included). k is clamped to [1, Slices].
func (s *State) Window(i, k int) Counts {
	var c Counts
	s.WindowInto(&c, i, k)
	return c
}

// WindowInto is Window writing into dst, reusing dst.Cells.
func (s *State) WindowInto(dst *Counts, i, k int) {
	k = min(max(k, 1), s.opts.Slices)
	now := s.advance(s.opts.Now())
	f := s.feats[i]
	if cap(dst.Cells) < f.ncells {
		dst.Cells = make([]uint64, f.ncells)
	}
	dst.Cells = dst.Cells[:f.ncells]
	clear(dst.Cells)
	dst.N, dst.Valid, dst.Sum, dst.SumSq, dst.Distinct, dst.DistinctSlices = 0, 0, 0, 0, 0, 0
	s.mu.Lock()
	defer s.mu.Unlock()
	k = int(min(int64(k), now-s.first+1))
	dst.Slices = k
	for ep := now - int64(k) + 1; ep <= now; ep++ {
		base := int(ep%int64(s.ring)) * f.stride
		for c := 0; c < f.ncells; c++ {
			dst.Cells[c] += f.cells[base+c].Load()
		}
		if f.typ == payload.Numeric {
			dst.Sum += math.Float64frombits(f.cells[base+f.ncells].Load())
			dst.SumSq += math.Float64frombits(f.cells[base+f.ncells+1].Load())
		}
	}
	for c, n := range dst.Cells {
		dst.N += n
		if c < f.lay.Missing() {
			dst.Valid += n
		}
	}
	if f.typ == payload.Categorical {
		dst.Distinct, dst.DistinctSlices = s.distinct(f, now, k)
	}
}

// distinct merges the sketches of the groups covering the last k slices.
func (s *State) distinct(f *fstate, now int64, k int) (uint64, int) {
	g := int64(s.opts.HLLGroupSlices)
	firstG := (now - int64(k) + 1) / g
	lastG := now / g
	if n := int64(f.groups); lastG-firstG+1 > n {
		firstG = lastG - n + 1
	}
	if firstG < s.first/g {
		firstG = s.first / g
	}
	acc, _ := hyperloglog.NewSketch(s.opts.HLLPrecision, false)
	f.mu.Lock()
	for gi := firstG; gi <= lastG; gi++ {
		_ = acc.Merge(f.hll[int(gi%int64(f.groups))])
	}
	f.mu.Unlock()
	start := max(firstG*g, s.first)
	return acc.Estimate(), int(now - start + 1)
}

// UnseenTop returns the most frequent UNSEEN values of categorical
// feature i, most frequent first. Counts halve at every sketch group
// boundary (every HLLGroupSlices slices). These values come from requests:
// never use them as metric labels.
func (s *State) UnseenTop(i int) []TopValue {
	f := s.feats[i]
	if f.typ != payload.Categorical {
		return nil
	}
	s.advance(s.opts.Now())
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.top.top()
}

// FeatureSnapshot holds cumulative counts of one feature since the State
// was created, for export as Prometheus counters and histograms.
type FeatureSnapshot struct {
	Name string
	Type payload.FeatureType
	// Edges are the reference edges: the "le" bounds of the histogram.
	Edges []float64
	// Buckets[j] counts valid values <= Edges[j] (values below the
	// reference minimum included); the +Inf bucket is Count.
	Buckets []uint64
	// Count and Sum are the histogram's _count and _sum over valid values.
	Count uint64
	Sum   float64
	// Missing, Invalid, BelowMin and AboveMax are the extra cells.
	Missing, Invalid, BelowMin, AboveMax uint64
	// Categories name the categorical cells: the dictionary, then
	// CellOther, CellUnseen, CellMissing, CellInvalid; CategoryCounts are
	// their counts.
	Categories     []string
	CategoryCounts []uint64
	// Distinct estimates the distinct values over the whole ring.
	Distinct uint64
}

// Snapshot is the cumulative state of a route.
type Snapshot struct {
	// Rows counts the observed rows.
	Rows       uint64
	Features   []FeatureSnapshot
	Prediction *FeatureSnapshot
}

// Snapshot returns cumulative counts since the State was created. The
// counts never decrease, so they can be exported as Prometheus counters.
func (s *State) Snapshot() Snapshot {
	now := s.advance(s.opts.Now())
	s.mu.Lock()
	defer s.mu.Unlock()
	var out Snapshot
	out.Rows = s.rowsOld
	for i := range s.rows {
		out.Rows += s.rows[i].Load()
	}
	for i, f := range s.feats {
		cells := make([]uint64, f.ncells)
		copy(cells, f.old)
		sum := f.oldSum
		for slot := 0; slot < s.ring; slot++ {
			base := slot * f.stride
			for c := range cells {
				cells[c] += f.cells[base+c].Load()
			}
			if f.typ == payload.Numeric {
				sum += math.Float64frombits(f.cells[base+f.ncells].Load())
			}
		}
		fs := FeatureSnapshot{Name: f.name, Type: f.typ}
		fs.Missing, fs.Invalid = cells[f.lay.Missing()], cells[f.lay.Invalid()]
		if f.typ == payload.Numeric {
			fs.Edges = f.edges
			fs.BelowMin, fs.AboveMax = cells[f.lay.BelowMin()], cells[f.lay.AboveMax()]
			fs.Buckets = make([]uint64, len(f.edges))
			run := fs.BelowMin
			for j := range f.edges {
				run += cells[j]
				fs.Buckets[j] = run
			}
			fs.Count = run + cells[f.lay.Values()-1] + fs.AboveMax
			fs.Sum = sum
		} else {
			fs.Categories = s.CellNames(i)
			fs.CategoryCounts = cells
			for _, n := range cells[:f.lay.Missing()] {
				fs.Count += n
			}
			fs.Distinct, _ = s.distinct(f, now, s.opts.Slices)
		}
		if s.hasPred && i == len(s.feats)-1 {
			out.Prediction = &fs
		} else {
			out.Features = append(out.Features, fs)
		}
	}
	return out
}

// Size returns the bytes of live state held for feature i (counters,
// sketches and the dictionary, not the shared profile).
func (s *State) Size(i int) int {
	f := s.feats[i]
	n := int(unsafe.Sizeof(*f))
	n += allocSize(len(f.cells)*8) + allocSize(len(f.old)*8)
	if f.typ == payload.Categorical {
		n += len(f.hll) * (allocSize(1<<s.opts.HLLPrecision) + int(unsafe.Sizeof(hyperloglog.Sketch{})))
		n += allocSize(len(f.top.e)*int(unsafe.Sizeof(topEntry{}))) + int(unsafe.Sizeof(*f.top))
		// Map: groups of 8 slots (8 control bytes, 8 string keys and
		// uint16 values padded to 24 bytes) at a load of at most 7/8,
		// rounded up to a power of two. The key bytes belong to the
		// profile.
		groups := 1
		for groups*7 < len(f.dict) {
			groups <<= 1
		}
		n += groups*(8+8*24) + 64
	}
	return n
}

// allocSize approximates the heap bytes of an n-byte allocation: large
// objects (over 32 KiB) take whole 8 KiB pages.
func allocSize(n int) int {
	if n > 32<<10 {
		return (n + 8191) &^ 8191
	}
	return n
}
