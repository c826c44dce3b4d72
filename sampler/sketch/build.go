package sketch

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/driftcar/driftcar/internal/payload"
)

// InputFormat is the format of a reference data file.
type InputFormat uint8

const (
	// CSV is comma-separated values with a header row (RFC 4180 quoting).
	CSV InputFormat = iota + 1
	// JSONL is one JSON object per line, keyed by feature name.
	JSONL
)

// String returns "csv" or "jsonl".
func (f InputFormat) String() string {
	switch f {
	case CSV:
		return "csv"
	case JSONL:
		return "jsonl"
	}
	return fmt.Sprintf("InputFormat(%d)", uint8(f))
}

// BuildOptions tune BuildReference and Learner. Zero fields take the
// documented defaults.
type BuildOptions struct {
	// Bins is the number of quantile bins B of numeric features. Default 20.
	Bins int
	// MaxCategories caps the dictionary of a categorical feature.
	// Default 64.
	MaxCategories int
	// Coverage is the share of reference mass the dictionary should cover;
	// the dictionary is the smallest top-K reaching it, capped by
	// MaxCategories. Default 0.99.
	Coverage float64
	// ExactBudget is the memory in bytes for numeric values kept for exact
	// quantiles, over all features. Beyond it every numeric feature
	// switches to a deterministic quantile sketch. Default 128 MiB.
	ExactBudget int64
	// SketchK is the level capacity of the quantile sketch. Default 16384
	// (rank error at most 0.092% for 10^8 values).
	SketchK int
	// MaxDistinct caps the distinct values tracked per categorical
	// feature; values first seen after the cap count as OTHER but are not
	// remembered. Default 100000.
	MaxDistinct int
	// MissingValues are the CSV/JSONL string values read as missing.
	// Default "", "NA", "N/A", "NaN", "nan", "null", "NULL", "None".
	MissingValues []string
	// Prediction, when set, names the column holding the model output, to
	// build the prediction profile.
	Prediction *payload.PredictionSpec
	// Progress, when set, is called with the bytes read so far, about every
	// ProgressEvery bytes and once at the end.
	Progress func(bytesRead int64)
	// ProgressEvery defaults to 1 MiB.
	ProgressEvery int64
}

func (o *BuildOptions) defaults() {
	if o.Bins <= 0 {
		o.Bins = 20
	}
	if o.MaxCategories <= 0 {
		o.MaxCategories = 64
	}
	if o.Coverage <= 0 || o.Coverage > 1 {
		o.Coverage = 0.99
	}
	if o.ExactBudget <= 0 {
		o.ExactBudget = 128 << 20
	}
	if o.SketchK <= 0 {
		o.SketchK = defaultSketchK
	}
	if o.MaxDistinct <= 0 {
		o.MaxDistinct = 100000
	}
	if o.MissingValues == nil {
		o.MissingValues = []string{"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"}
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 1 << 20
	}
}

// BuildReference streams reference data from r and returns its profile.
// specs name the features (the CSV header or JSONL key is the feature
// name). The result is deterministic for the same input.
//
// Memory is bounded: numeric values are kept for exact quantiles up to
// opts.ExactBudget bytes; beyond that a quantile sketch takes over. In
// that case, if r is also an io.Seeker, a second pass counts the
// reference cells exactly; otherwise the cell counts come from the sketch.
func BuildReference(r io.Reader, format InputFormat, specs []payload.FeatureSpec, opts BuildOptions) (*Profile, error) {
	opts.defaults()
	b, err := newBuilder(specs, opts)
	if err != nil {
		return nil, err
	}
	if format != CSV && format != JSONL {
		return nil, fmt.Errorf("cannot build reference: unknown input format %d", format)
	}
	start, _ := seekerPos(r)
	cr := &countingReader{r: r, every: opts.ProgressEvery, fn: opts.Progress}
	if err := b.read(cr, format, false); err != nil {
		return nil, err
	}
	if b.needSecondPass() {
		if s, ok := r.(io.Seeker); ok && start >= 0 {
			if _, err := s.Seek(start, io.SeekStart); err != nil {
				return nil, fmt.Errorf("cannot rewind reference input: %w", err)
			}
			b.prepareSecondPass()
			cr2 := &countingReader{r: r, every: opts.ProgressEvery, fn: opts.Progress, base: cr.n}
			if err := b.read(cr2, format, true); err != nil {
				return nil, err
			}
			if b.rows2 != b.rows {
				return nil, fmt.Errorf("cannot build reference: input changed between passes (%d rows, then %d)", b.rows, b.rows2)
			}
			cr = cr2
		}
	}
	cr.report()
	return b.profile(format.String())
}

func seekerPos(r io.Reader) (int64, bool) {
	s, ok := r.(io.Seeker)
	if !ok {
		return -1, false
	}
	pos, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return -1, false
	}
	return pos, true
}

type countingReader struct {
	r     io.Reader
	n     int64
	base  int64
	next  int64
	every int64
	fn    func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.fn != nil && c.n >= c.next {
		c.fn(c.base + c.n)
		c.next = c.n + c.every
	}
	return n, err
}

func (c *countingReader) report() {
	if c.fn != nil {
		c.fn(c.base + c.n)
	}
}

// builder accumulates reference statistics.
type builder struct {
	opts    BuildOptions
	accs    []*acc // features, then the prediction
	rows    uint64
	exact   int64 // numeric values kept, over all features
	sketch  bool
	missing map[string]bool
	pass2   bool
	rows2   uint64 // rows of the second pass
}

type acc struct {
	name                    string
	typ                     payload.FeatureType
	count, missing, invalid uint64

	// numeric
	mean, m2, min, max float64
	chunks             [][]float64
	sk                 *qsketch
	cand               []float64 // candidate edges (second pass)
	candCounts         []uint64

	// categorical
	cats   map[string]*catCount
	capped uint64 // values not tracked because of MaxDistinct
	nvalid uint64
}

type catCount struct{ total, train, hold uint64 }

const chunkLen = 1 << 16

func newBuilder(specs []payload.FeatureSpec, opts BuildOptions) (*builder, error) {
	b := &builder{opts: opts, missing: make(map[string]bool)}
	for _, m := range opts.MissingValues {
		b.missing[m] = true
	}
	seen := make(map[string]bool)
	add := func(name string, typ payload.FeatureType, at string) error {
		if name == "" {
			return fmt.Errorf("cannot build reference: %s: empty name", at)
		}
		if seen[name] {
			return fmt.Errorf("cannot build reference: %s: duplicate name %q", at, name)
		}
		if typ != payload.Numeric && typ != payload.Categorical {
			return fmt.Errorf("cannot build reference: %s (%s): type must be numeric or categorical", at, name)
		}
		seen[name] = true
		a := &acc{name: name, typ: typ, min: math.Inf(1), max: math.Inf(-1)}
		if typ == payload.Categorical {
			a.cats = make(map[string]*catCount)
		}
		b.accs = append(b.accs, a)
		return nil
	}
	for i, s := range specs {
		if err := add(s.Name, s.Type, fmt.Sprintf("features[%d]", i)); err != nil {
			return nil, err
		}
	}
	if p := opts.Prediction; p != nil {
		if err := add(p.EffectiveName(), p.Type, "prediction"); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (b *builder) hasPrediction() bool { return b.opts.Prediction != nil }

// addNum records a valid numeric value.
func (b *builder) addNum(a *acc, x float64) {
	if b.pass2 {
		if a.cand != nil {
			a.candCounts[cellOf(a.cand, x)]++
		}
		return
	}
	a.count++
	d := x - a.mean
	a.mean += d / float64(a.count)
	a.m2 += d * (x - a.mean)
	a.min = min(a.min, x)
	a.max = max(a.max, x)
	if b.sketch {
		a.sk.add(x)
		return
	}
	if len(a.chunks) == 0 || len(a.chunks[len(a.chunks)-1]) == chunkLen {
		a.chunks = append(a.chunks, make([]float64, 0, chunkLen))
	}
	last := len(a.chunks) - 1
	a.chunks[last] = append(a.chunks[last], x)
	b.exact++
	if b.exact*8 > b.opts.ExactBudget {
		b.toSketch()
	}
}

// toSketch moves every numeric feature from exact values to a sketch.
func (b *builder) toSketch() {
	b.sketch = true
	for _, a := range b.accs {
		if a.typ != payload.Numeric {
			continue
		}
		a.sk = newQSketch(b.opts.SketchK)
		for i, c := range a.chunks {
			for _, x := range c {
				a.sk.add(x)
			}
			a.chunks[i] = nil
		}
		a.chunks = nil
	}
	b.exact = 0
}

func (b *builder) addCat(a *acc, v string) {
	if b.pass2 {
		return
	}
	a.count++
	hold := a.nvalid%10 == 9
	a.nvalid++
	c := a.cats[v]
	if c == nil {
		if len(a.cats) >= b.opts.MaxDistinct {
			a.capped++
			return
		}
		c = &catCount{}
		a.cats[strings.Clone(v)] = c
	}
	c.total++
	if hold {
		c.hold++
	} else {
		c.train++
	}
}

func (b *builder) addMissing(a *acc) {
	if !b.pass2 {
		a.missing++
	}
}

func (b *builder) addInvalid(a *acc) {
	if !b.pass2 {
		a.invalid++
	}
}

// addString records a textual value (CSV field, JSONL string).
func (b *builder) addString(a *acc, s string) {
	if b.missing[s] {
		b.addMissing(a)
		return
	}
	if a.typ == payload.Categorical {
		b.addCat(a, s)
		return
	}
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !isFinite(x) {
		b.addInvalid(a)
		return
	}
	b.addNum(a, x)
}

func (b *builder) needSecondPass() bool {
	if !b.sketch {
		return false
	}
	for _, a := range b.accs {
		if a.typ == payload.Numeric && a.count > 0 {
			return true
		}
	}
	return false
}

// prepareSecondPass fixes candidate edges from the sketches.
func (b *builder) prepareSecondPass() {
	b.pass2 = true
	for _, a := range b.accs {
		if a.typ != payload.Numeric || a.count == 0 {
			continue
		}
		view := newSortedView(a.sk.items())
		q := quantiles(view, b.opts.Bins)
		pm := pointMassesView(view, b.opts.Bins)
		a.cand = candidateEdges(q, pm, a.min, a.max)
		a.candCounts = make([]uint64, len(a.cand)+1)
	}
}

// read parses the input and feeds the accumulators.
func (b *builder) read(r io.Reader, format InputFormat, second bool) error {
	if format == CSV {
		return b.readCSV(r, second)
	}
	return b.readJSONL(r, second)
}

func (b *builder) readCSV(r io.Reader, second bool) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return errors.New("cannot build reference: csv: empty input, want a header row")
	}
	if err != nil {
		return fmt.Errorf("cannot build reference: csv: %w", err)
	}
	cols := make([]int, len(b.accs))
	for i, a := range b.accs {
		cols[i] = -1
		for j, h := range header {
			if strings.TrimSpace(h) == a.name || j == 0 && strings.TrimPrefix(h, "\ufeff") == a.name {
				cols[i] = j
				break
			}
		}
		if cols[i] < 0 {
			return fmt.Errorf("cannot build reference: csv: no column %q in the header", a.name)
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot build reference: csv: %w", err)
		}
		if second {
			b.rows2++
		} else {
			b.rows++
		}
		for i, a := range b.accs {
			b.addString(a, rec[cols[i]])
		}
	}
}

func (b *builder) readJSONL(r io.Reader, second bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	paths := make([]string, len(b.accs))
	for i, a := range b.accs {
		paths[i] = payload.KeyPath(a.name)
	}
	rec, err := payload.NewRecord(paths)
	if err != nil {
		return fmt.Errorf("cannot build reference: %w", err)
	}
	line := 0
	for sc.Scan() {
		line++
		buf := sc.Bytes()
		if len(strings.TrimSpace(string(buf))) == 0 {
			continue
		}
		switch err := rec.Parse(buf); {
		case errors.Is(err, payload.ErrMalformedJSON):
			return fmt.Errorf("cannot build reference: jsonl: line %d: malformed json", line)
		case errors.Is(err, payload.ErrTooDeep):
			return fmt.Errorf("cannot build reference: jsonl: line %d: nested too deep", line)
		case err != nil:
			return fmt.Errorf("cannot build reference: jsonl: line %d: not an object", line)
		}
		if second {
			b.rows2++
		} else {
			b.rows++
		}
		for i, a := range b.accs {
			b.addField(a, rec.Field(i))
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cannot build reference: jsonl: line %d: %w", line+1, err)
	}
	return nil
}

// addField records one JSON value.
func (b *builder) addField(a *acc, f payload.Field) {
	switch f.Kind {
	case payload.FieldAbsent, payload.FieldNull:
		b.addMissing(a)
	case payload.FieldNumber:
		switch {
		case a.typ == payload.Categorical:
			b.addCat(a, string(f.Text))
		case f.Finite:
			b.addNum(a, f.Num)
		default:
			b.addInvalid(a)
		}
	case payload.FieldTrue, payload.FieldFalse:
		switch {
		case a.typ == payload.Categorical:
			b.addCat(a, string(f.Text))
		case f.Kind == payload.FieldTrue:
			b.addNum(a, 1)
		default:
			b.addNum(a, 0)
		}
	case payload.FieldString:
		b.addString(a, string(f.Text))
	default:
		b.addInvalid(a)
	}
}

// addValue records a decoded live value (learn mode).
func (b *builder) addValue(a *acc, v *payload.Value) {
	switch v.Kind {
	case payload.ValueMissing:
		b.addMissing(a)
	case payload.ValueInvalid:
		b.addInvalid(a)
	case payload.ValueNumber:
		if a.typ == payload.Numeric {
			b.addNum(a, v.Num)
		} else {
			b.addCat(a, strconv.FormatFloat(v.Num, 'g', -1, 64))
		}
	case payload.ValueString:
		if a.typ == payload.Categorical {
			b.addCat(a, string(v.Str))
		} else {
			b.addInvalid(a)
		}
	}
}

// profile finishes the statistics.
func (b *builder) profile(source string) (*Profile, error) {
	p := &Profile{Format: ProfileFormat, Version: ProfileVersion, Source: source, Rows: b.rows, Bins: b.opts.Bins}
	for i, a := range b.accs {
		fp := b.finish(a)
		if b.hasPrediction() && i == len(b.accs)-1 {
			p.Prediction = &fp
		} else {
			p.Features = append(p.Features, fp)
		}
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("cannot build reference: %w", err)
	}
	if err := p.computeHash(); err != nil {
		return nil, err
	}
	return p, nil
}

func (b *builder) finish(a *acc) FeatureProfile {
	fp := FeatureProfile{Name: a.name, Type: a.typ.String(), Count: a.count, Missing: a.missing, Invalid: a.invalid}
	if b.rows > 0 {
		fp.MissingRate = float64(a.missing) / float64(b.rows)
	}
	if a.typ == payload.Categorical {
		b.finishCat(a, &fp)
	} else {
		b.finishNum(a, &fp)
	}
	fp.Proportions = make([]float64, len(fp.Counts))
	for i, c := range fp.Counts {
		if fp.Count > 0 {
			fp.Proportions[i] = float64(c) / float64(fp.Count)
		}
	}
	return fp
}

func (b *builder) finishNum(a *acc, fp *FeatureProfile) {
	fp.Method = "exact"
	if a.count == 0 {
		fp.Counts = []uint64{0}
		return
	}
	fp.Mean = a.mean
	fp.Std = math.Sqrt(a.m2 / float64(a.count))
	fp.Min, fp.Max = a.min, a.max
	B := b.opts.Bins
	if b.sketch {
		fp.Method = "sketch"
		fp.RankError = a.sk.rankError()
		view := newSortedView(a.sk.items())
		fp.Quantiles = quantiles(view, B)
		fp.PointMasses = pointMassesView(view, B)
		cand := a.cand
		counts := a.candCounts
		if cand == nil {
			// No second pass: count cells from the sketch.
			cand = candidateEdges(fp.Quantiles, fp.PointMasses, a.min, a.max)
			counts = viewCellCounts(view, cand)
		}
		fp.Edges, fp.Counts = pruneEmpty(cand, counts)
		return
	}
	for _, c := range a.chunks {
		slices.Sort(c)
	}
	m := newMerged(a.chunks)
	// Quantile ranks and point masses in one merged pass.
	fp.Quantiles, fp.PointMasses = exactQuantiles(m, a.count, B)
	cand := candidateEdges(fp.Quantiles, fp.PointMasses, a.min, a.max)
	counts := make([]uint64, len(cand)+1)
	for _, c := range a.chunks {
		lo := 0
		for j, e := range cand {
			hi, _ := slices.BinarySearch(c, math.Nextafter(e, math.Inf(1)))
			counts[j] += uint64(hi - lo)
			lo = hi
		}
		counts[len(cand)] += uint64(len(c) - lo)
	}
	fp.Edges, fp.Counts = pruneEmpty(cand, counts)
	a.chunks = nil
}

// quantiles returns the type-7 quantiles at i/B, i=1..B-1.
func quantiles(v *sortedView, bins int) []float64 {
	q := make([]float64, bins-1)
	for i := 1; i < bins; i++ {
		q[i-1] = v.quantile(float64(i) / float64(bins))
	}
	return q
}

// pointMassesView returns the values whose weight is at least n/B.
func pointMassesView(v *sortedView, bins int) []float64 {
	var out []float64
	for i := 0; i < len(v.items); {
		j := i
		var w uint64
		for j < len(v.items) && v.items[j].v == v.items[i].v {
			w += v.items[j].w
			j++
		}
		if w*uint64(bins) >= v.n {
			out = append(out, v.items[i].v)
		}
		i = j
	}
	return out
}

func viewCellCounts(v *sortedView, edges []float64) []uint64 {
	counts := make([]uint64, len(edges)+1)
	for _, it := range v.items {
		counts[cellOf(edges, it.v)] += it.w
	}
	return counts
}

// cellOf returns the cell of x: the number of edges below x, so that x in
// (e[i-1], e[i]] falls in cell i.
func cellOf(edges []float64, x float64) int {
	lo, hi := 0, len(edges)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if edges[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// candidateEdges merges the quantiles with the point-mass edges (v and the
// float just below v, so v gets a cell of its own), sorts them, drops
// duplicates and keeps those in [min, max).
func candidateEdges(q, pm []float64, lo, hi float64) []float64 {
	c := make([]float64, 0, len(q)+2*len(pm))
	c = append(c, q...)
	for _, v := range pm {
		c = append(c, v, math.Nextafter(v, math.Inf(-1)))
	}
	slices.Sort(c)
	c = slices.Compact(c)
	return slices.DeleteFunc(c, func(e float64) bool { return e < lo || e >= hi })
}

// pruneEmpty removes the right edge of every empty cell, so that every
// reference cell has mass. The first cell holds min and the last holds
// max, so they are never empty.
func pruneEmpty(edges []float64, counts []uint64) ([]float64, []uint64) {
	oe := make([]float64, 0, len(edges))
	oc := make([]uint64, 0, len(counts))
	var carry uint64
	for j, e := range edges {
		if counts[j]+carry == 0 {
			continue
		}
		oe = append(oe, e)
		oc = append(oc, counts[j]+carry)
		carry = 0
	}
	oc = append(oc, counts[len(edges)]+carry)
	return oe, oc
}

// merged iterates sorted chunks in order.
type merged struct {
	chunks [][]float64
	pos    []int
	heap   []int // chunk indexes, min-heap by current value
}

func newMerged(chunks [][]float64) *merged {
	m := &merged{chunks: chunks, pos: make([]int, len(chunks))}
	for i, c := range chunks {
		if len(c) > 0 {
			m.heap = append(m.heap, i)
		}
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return m
}

func (m *merged) val(h int) float64 { c := m.heap[h]; return m.chunks[c][m.pos[c]] }

func (m *merged) less(i, j int) bool {
	a, b := m.val(i), m.val(j)
	return a < b || a == b && m.heap[i] < m.heap[j]
}

func (m *merged) down(i int) {
	n := len(m.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		s := l
		if r := l + 1; r < n && m.less(r, l) {
			s = r
		}
		if !m.less(s, i) {
			return
		}
		m.heap[i], m.heap[s] = m.heap[s], m.heap[i]
		i = s
	}
}

// next returns the next value in order.
func (m *merged) next() (float64, bool) {
	if len(m.heap) == 0 {
		return 0, false
	}
	c := m.heap[0]
	v := m.chunks[c][m.pos[c]]
	m.pos[c]++
	if m.pos[c] == len(m.chunks[c]) {
		m.heap[0] = m.heap[len(m.heap)-1]
		m.heap = m.heap[:len(m.heap)-1]
	}
	if len(m.heap) > 0 {
		m.down(0)
	}
	return v, true
}

// exactQuantiles walks the merged values once, picking the order
// statistics the type-7 quantiles need and the runs of at least n/B equal
// values.
func exactQuantiles(m *merged, n uint64, bins int) (q, pm []float64) {
	// Ranks needed, in order.
	var ranks []uint64
	for i := 1; i < bins; i++ {
		h := float64(n-1) * (float64(i) / float64(bins))
		r := uint64(math.Floor(h))
		ranks = append(ranks, r)
		if r+1 < n {
			ranks = append(ranks, r+1)
		}
	}
	slices.Sort(ranks)
	ranks = slices.Compact(ranks)
	vals := make(map[uint64]float64, len(ranks))
	var (
		k       int
		rank    uint64
		run     uint64
		prev    float64
		started bool
	)
	for {
		v, ok := m.next()
		if !ok {
			break
		}
		if started && v == prev {
			run++
		} else {
			if started && run*uint64(bins) >= n {
				pm = append(pm, prev)
			}
			run = 1
			prev = v
			started = true
		}
		for k < len(ranks) && ranks[k] == rank {
			vals[rank] = v
			k++
		}
		rank++
	}
	if started && run*uint64(bins) >= n {
		pm = append(pm, prev)
	}
	q = make([]float64, bins-1)
	for i := 1; i < bins; i++ {
		q[i-1] = quantileOf(n, func(r uint64) float64 { return vals[r] }, float64(i)/float64(bins))
	}
	return q, pm
}

func (b *builder) finishCat(a *acc, fp *FeatureProfile) {
	type kv struct {
		v string
		c *catCount
	}
	all := make([]kv, 0, len(a.cats))
	for v, c := range a.cats {
		all = append(all, kv{v, c})
	}
	slices.SortFunc(all, func(x, y kv) int {
		if c := cmp.Compare(y.c.total, x.c.total); c != 0 {
			return c
		}
		return strings.Compare(x.v, y.v)
	})
	fp.Distinct = uint64(len(all))
	fp.DistinctCapped = a.capped > 0
	// Smallest top-K covering Coverage of the mass, capped.
	need := uint64(math.Ceil(b.opts.Coverage * float64(a.count)))
	var cum uint64
	k := 0
	for k < len(all) && k < b.opts.MaxCategories && cum < need {
		cum += all[k].c.total
		k++
	}
	other := a.count - cum
	for _, e := range all[:k] {
		fp.Categories = append(fp.Categories, Category{Value: e.v, Count: e.c.total})
		fp.Counts = append(fp.Counts, e.c.total)
	}
	fp.Counts = append(fp.Counts, other, 0)
	if tail := all[k:]; len(tail) > 0 {
		bits := 1024
		for bits < 10*len(tail) && bits < 1<<16 {
			bits <<= 1
		}
		bl := newBloom(bits, 7)
		for _, e := range tail {
			bl.add(hashBytes([]byte(e.v)))
		}
		fp.Tail = encodeTail(bl, uint64(len(tail)))
	}
	// Hold-out unseen rate.
	var hold, unseen uint64
	for _, e := range all {
		hold += e.c.hold
		if e.c.train == 0 {
			unseen += e.c.hold
		}
	}
	if hold > 0 {
		fp.UnseenRate = float64(unseen) / float64(hold)
	}
}

// Learner builds a profile from the first live rows ("learn" mode). It is
// safe for concurrent use.
type Learner struct {
	mu    sync.Mutex
	b     *builder
	nfeat int
	want  uint64
}

// NewLearner returns a Learner that takes the first samples rows. The
// profile it builds has the same form as one from BuildReference; pass
// opts.Prediction to profile the prediction too.
func NewLearner(specs []payload.FeatureSpec, samples int, opts BuildOptions) (*Learner, error) {
	if samples <= 0 {
		return nil, fmt.Errorf("cannot create learner: samples %d must be positive", samples)
	}
	opts.defaults()
	b, err := newBuilder(specs, opts)
	if err != nil {
		return nil, err
	}
	return &Learner{b: b, nfeat: len(specs), want: uint64(samples)}, nil
}

// Observe adds the rows of a decoded batch, up to the wanted number, and
// reports whether the learner has all the rows it wants.
func (l *Learner) Observe(bt *payload.Batch) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if bt.Features != l.nfeat {
		return l.b.rows >= l.want
	}
	for r := 0; r < bt.Rows && l.b.rows < l.want; r++ {
		row := bt.Row(r)
		for j := range row {
			l.b.addValue(l.b.accs[j], &row[j])
		}
		if l.b.hasPrediction() {
			a := l.b.accs[len(l.b.accs)-1]
			if r < len(bt.Predictions) {
				l.b.addValue(a, &bt.Predictions[r])
			} else {
				l.b.addMissing(a)
			}
		}
		l.b.rows++
	}
	return l.b.rows >= l.want
}

// Done reports whether the learner has all the rows it wants.
func (l *Learner) Done() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.rows >= l.want
}

// Rows returns the rows observed so far.
func (l *Learner) Rows() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.rows
}

// Profile builds the profile from the rows observed so far. It may be
// called once; the learner must not be used after it.
func (l *Learner) Profile() (*Profile, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.rows == 0 {
		return nil, errors.New("cannot build reference: learner has no rows")
	}
	return l.b.profile("learn")
}
