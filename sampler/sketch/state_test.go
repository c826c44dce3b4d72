package sketch

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/payload"
)

// smallProfile has numeric x with edges {1, 2, 3} over [0, 4] and
// categorical c with dictionary {a, b}, tail {z}.
func smallProfile(t testing.TB) *Profile {
	t.Helper()
	csv := "x,c,prediction\n"
	for i, v := range []string{"0", "0.5", "1", "1.5", "2", "2.5", "3", "3.5", "4"} {
		c := "a"
		if i%2 == 1 {
			c = "b"
		}
		csv += v + "," + c + ",0.5\n"
	}
	csv += ",z,0.5\n"
	p, err := BuildReference(stringsReader(csv), CSV,
		[]payload.FeatureSpec{{Name: "x", Type: payload.Numeric}, {Name: "c", Type: payload.Categorical}},
		BuildOptions{Bins: 4, Coverage: 0.8, Prediction: &payload.PredictionSpec{Type: payload.Numeric}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func num(x float64) payload.Value { return payload.Value{Kind: payload.ValueNumber, Num: x} }
func str(s string) payload.Value  { return payload.Value{Kind: payload.ValueString, Str: []byte(s)} }
func missing() payload.Value      { return payload.Value{Kind: payload.ValueMissing} }
func invalid(r payload.Reason) payload.Value {
	return payload.Value{Kind: payload.ValueInvalid, Reason: r}
}

func batchOf(rows ...[]payload.Value) *payload.Batch {
	b := &payload.Batch{Features: len(rows[0]), Rows: len(rows)}
	for _, r := range rows {
		b.Values = append(b.Values, r...)
	}
	return b
}

func TestStateExactCounts(t *testing.T) {
	p := smallProfile(t)
	fx := p.Feature("x")
	if !slices.Equal(fx.Edges, []float64{1, 2, 3}) || fx.Min != 0 || fx.Max != 4 {
		t.Fatalf("unexpected reference x: edges %v min %v max %v", fx.Edges, fx.Min, fx.Max)
	}
	fc := p.Feature("c")
	if len(fc.Categories) != 2 || fc.Categories[0].Value != "a" || fc.Categories[1].Value != "b" {
		t.Fatalf("unexpected dictionary %+v", fc.Categories)
	}
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	specs := []payload.FeatureSpec{{Name: "x", Type: payload.Numeric}, {Name: "c", Type: payload.Categorical}}
	st, err := NewState(p, specs, nil, StateOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	st.Observe(batchOf(
		[]payload.Value{num(0), str("a")},      // bin 0 [min, 1]
		[]payload.Value{num(1), str("b")},      // bin 0 (le semantics)
		[]payload.Value{num(1.0001), str("z")}, // bin 1; z is in the tail: other
		[]payload.Value{num(3), str("new")},    // bin 2; unseen
		[]payload.Value{num(4), str("new")},    // bin 3 (max)
		[]payload.Value{num(-1), missing()},    // below min
		[]payload.Value{num(9), invalid(payload.ReasonWrongType)},
		[]payload.Value{missing(), num(7)}, // numbers for categorical: "7" unseen
		[]payload.Value{invalid(payload.ReasonNaNInf), str("a")},
	))
	wx := st.Window(0, 1)
	wantX := []uint64{2, 1, 1, 1, 1, 1, 1, 1} // 4 bins, below, above, missing, invalid
	if !slices.Equal(wx.Cells, wantX) {
		t.Errorf("x cells = %v; want %v (%v)", wx.Cells, wantX, st.CellNames(0))
	}
	if wx.N != 9 || wx.Valid != 7 {
		t.Errorf("x N, Valid = %d, %d; want 9, 7", wx.N, wx.Valid)
	}
	if sum := 0 + 1 + 1.0001 + 3 + 4 - 1 + 9; math.Abs(wx.Sum-sum) > 1e-12 {
		t.Errorf("x sum = %v; want %v", wx.Sum, sum)
	}
	wc := st.Window(1, 1)
	wantC := []uint64{2, 1, 1, 3, 1, 1} // a, b, other, unseen, missing, invalid
	if !slices.Equal(wc.Cells, wantC) {
		t.Errorf("c cells = %v; want %v (%v)", wc.Cells, wantC, st.CellNames(1))
	}
	if wc.Distinct != 5 { // a, b, z, new, 7
		t.Errorf("c distinct = %d; want 5", wc.Distinct)
	}
	top := st.UnseenTop(1)
	if len(top) != 2 || top[0].Value != "new" || top[0].Count != 2 || top[1].Value != "7" {
		t.Errorf("unseen top = %+v", top)
	}
	snap := st.Snapshot()
	sx := snap.Features[0]
	if !slices.Equal(sx.Buckets, []uint64{3, 4, 5}) || sx.Count != 7 || sx.BelowMin != 1 || sx.AboveMax != 1 {
		t.Errorf("snapshot x = %+v", sx)
	}
	sc := snap.Features[1]
	if !slices.Equal(sc.Categories, []string{"a", "b", CellOther, CellUnseen, CellMissing, CellInvalid}) || !slices.Equal(sc.CategoryCounts, wantC) {
		t.Errorf("snapshot c = %+v", sc)
	}
	if snap.Rows != 9 {
		t.Errorf("rows = %d; want 9", snap.Rows)
	}
}

func TestStateWindowsRoll(t *testing.T) {
	p := smallProfile(t)
	clk := &fakeClock{t: time.Unix(6000, 0)} // a slice boundary
	specs := []payload.FeatureSpec{{Name: "x", Type: payload.Numeric}, {Name: "c", Type: payload.Categorical}}
	st, err := NewState(p, specs, nil, StateOptions{Now: clk.Now, Slices: 5, SliceDuration: time.Minute, HLLGroupSlices: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Slice i gets i+1 rows.
	for i := 0; i < 5; i++ {
		for j := 0; j <= i; j++ {
			st.Observe(batchOf([]payload.Value{num(0.5), str(fmt.Sprintf("v%d", i))}))
		}
		if i < 4 {
			clk.Add(time.Minute)
		}
	}
	for k, want := range map[int]uint64{1: 5, 2: 9, 3: 12, 5: 15, 9: 15} {
		if w := st.Window(0, k); w.N != want {
			t.Errorf("window(%d).N = %d; want %d", k, w.N, want)
		}
	}
	if w := st.Window(1, 1); w.Distinct != 1 || w.DistinctSlices != 1 {
		t.Errorf("distinct over 1 slice = %d over %d slices; want 1 over 1 (group of the current slice)", w.Distinct, w.DistinctSlices)
	}
	if w := st.Window(1, 5); w.Distinct != 5 {
		t.Errorf("distinct over 5 slices = %d; want 5", w.Distinct)
	}
	// One minute later the oldest slice (1 row) drops out, and the new
	// current slice is empty.
	clk.Add(time.Minute)
	if w := st.Window(0, 5); w.N != 14 || w.Slices != 5 {
		t.Errorf("after 1 min: window(5) = %d over %d slices; want 14 over 5", w.N, w.Slices)
	}
	if w := st.Window(0, 1); w.N != 0 {
		t.Errorf("after 1 min: current slice N = %d; want 0", w.N)
	}
	// A partial slice: 30 s later is the same slice.
	clk.Add(30 * time.Second)
	st.Observe(batchOf([]payload.Value{num(0.5), str("x")}))
	if w := st.Window(0, 1); w.N != 1 {
		t.Errorf("current slice N = %d; want 1", w.N)
	}
	// A clock going back writes to the current slice.
	clk.Add(-10 * time.Minute)
	st.Observe(batchOf([]payload.Value{num(0.5), str("x")}))
	clk.Add(10 * time.Minute)
	if w := st.Window(0, 1); w.N != 2 {
		t.Errorf("after clock went back: current slice N = %d; want 2", w.N)
	}
	// Idle for longer than the ring: every window is empty, the cumulative
	// snapshot keeps everything.
	clk.Add(time.Hour)
	if w := st.Window(0, 5); w.N != 0 {
		t.Errorf("after idle hour: window N = %d; want 0", w.N)
	}
	if w := st.Window(1, 5); w.Distinct != 0 {
		t.Errorf("after idle hour: distinct = %d; want 0", w.Distinct)
	}
	if s := st.Snapshot(); s.Features[0].Count != 17 || s.Rows != 17 {
		t.Errorf("snapshot count = %d, rows %d; want 17, 17", s.Features[0].Count, s.Rows)
	}
}

func TestStateConcurrentObserve(t *testing.T) {
	p := benchProfile(t)
	specs, pred := benchSpecs()
	var mu sync.Mutex
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clk.t }
	st, err := NewState(p, specs, pred, StateOptions{Now: now, Slices: 10, HLLGroupSlices: 3})
	if err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 8, 600
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, _ := payload.NewDecoder(payload.KServeV1, specs, pred, payload.DecoderOptions{})
			rng := newRand(uint64(w))
			for i := 0; i < perWorker; i++ {
				bt, err := d.Decode(benchRequest(rng), []byte(`{"predictions": [0.5]}`))
				if err != nil {
					t.Error(err)
					return
				}
				st.Observe(bt)
				if w == 0 && i%150 == 0 {
					mu.Lock()
					clk.Add(time.Minute) // rotate slices while others write
					mu.Unlock()
				}
			}
		}()
	}
	// Readers run concurrently.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 50; i++ {
			_ = st.Window(0, 10)
			_ = st.Window(17, 10)
			_ = st.Snapshot()
			_ = st.UnseenTop(17)
		}
	}()
	wg.Wait()
	<-done
	s := st.Snapshot()
	const total = workers * perWorker
	if s.Rows != total {
		t.Fatalf("rows = %d; want %d", s.Rows, total)
	}
	for _, f := range s.Features {
		var n uint64
		if f.Type == payload.Numeric {
			n = f.Count + f.Missing + f.Invalid
		} else {
			for _, c := range f.CategoryCounts {
				n += c
			}
		}
		if n != total {
			t.Errorf("feature %s: %d observations; want %d", f.Name, n, total)
		}
	}
	if w := st.Window(0, 10); w.N != total {
		t.Errorf("window over all slices N = %d; want %d", w.N, total)
	}
}

// TestStateMemory checks the per-feature memory targets at the defaults:
// at most 32 KiB per numeric and 64 KiB per categorical feature, with the
// largest default dictionary (64 categories).
func TestStateMemory(t *testing.T) {
	const nfeat = 100
	p := &Profile{Format: ProfileFormat, Version: ProfileVersion, Bins: 20, Rows: 100000}
	var numSpecs, catSpecs []payload.FeatureSpec
	for i := 0; i < nfeat; i++ {
		edges := make([]float64, 19)
		counts := make([]uint64, 20)
		for j := range edges {
			edges[j] = float64(j + 1)
		}
		for j := range counts {
			counts[j] = 5000
		}
		p.Features = append(p.Features, FeatureProfile{Name: fmt.Sprintf("n%d", i), Type: "numeric", Count: 100000, Min: 0, Max: 20, Edges: edges, Counts: counts, Proportions: props(counts), Method: "exact"})
		numSpecs = append(numSpecs, payload.FeatureSpec{Name: fmt.Sprintf("n%d", i), Type: payload.Numeric})
	}
	for i := 0; i < nfeat; i++ {
		var cats []Category
		counts := make([]uint64, 66)
		for j := 0; j < 64; j++ {
			cats = append(cats, Category{Value: fmt.Sprintf("category-value-%02d", j), Count: 1000})
			counts[j] = 1000
		}
		counts[64] = 36000
		p.Features = append(p.Features, FeatureProfile{Name: fmt.Sprintf("c%d", i), Type: "categorical", Count: 100000, Categories: cats, Counts: counts, Proportions: props(counts)})
		catSpecs = append(catSpecs, payload.FeatureSpec{Name: fmt.Sprintf("c%d", i), Type: payload.Categorical})
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	measure := func(specs []payload.FeatureSpec) (perFeature float64, size int) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		st, err := NewState(p, specs, nil, StateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		size = st.Size(0)
		runtime.KeepAlive(st)
		return float64(after.HeapAlloc-before.HeapAlloc) / nfeat, size
	}
	numMem, numSize := measure(numSpecs)
	catMem, catSize := measure(catSpecs)
	t.Logf("numeric: %.0f B/feature measured, Size %d B; categorical: %.0f B/feature measured, Size %d B", numMem, numSize, catMem, catSize)
	if numMem > 32<<10 || numSize > 32<<10 {
		t.Errorf("numeric feature uses %.0f B (Size %d); want <= 32 KiB", numMem, numSize)
	}
	if catMem > 64<<10 || catSize > 64<<10 {
		t.Errorf("categorical feature uses %.0f B (Size %d); want <= 64 KiB", catMem, catSize)
	}
	// Size must agree with the heap measurement within 15%.
	for _, c := range []struct {
		m float64
		s int
	}{{numMem, numSize}, {catMem, catSize}} {
		if math.Abs(c.m-float64(c.s)) > 0.15*c.m {
			t.Errorf("Size %d differs from measured %.0f by more than 15%%", c.s, c.m)
		}
	}
}

func props(c []uint64) []float64 {
	var n uint64
	for _, x := range c {
		n += x
	}
	out := make([]float64, len(c))
	for i, x := range c {
		out[i] = float64(x) / float64(n)
	}
	return out
}

func TestNewStateErrors(t *testing.T) {
	p := smallProfile(t)
	for _, tc := range []struct {
		specs []payload.FeatureSpec
		pred  *payload.PredictionSpec
		want  string
	}{
		{[]payload.FeatureSpec{{Name: "nope", Type: payload.Numeric}}, nil, `no reference for "nope"`},
		{[]payload.FeatureSpec{{Name: "x", Type: payload.Categorical}}, nil, "type categorical, reference has numeric"},
		{nil, &payload.PredictionSpec{Type: payload.Categorical}, "prediction: type categorical"},
	} {
		_, err := NewState(p, tc.specs, tc.pred, StateOptions{})
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("got %v; want error containing %q", err, tc.want)
		}
	}
}
