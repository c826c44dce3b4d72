package sketch

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/driftcar/driftcar/internal/payload"
)

// InputFormat is the format of a reference data file.
type InputFormat uint8

const (
	// CSV is comma-separated values with a header row (RFC 4180 quoting).
	CSV InputFormat = iota + 1
	// JSONL is one JSON object per line, keyed by feature name.
	JSONL
	// PredictionLog is the prediction log's JSON Lines: one record per
	// request, whose "features" hold one object per row and whose
	// "prediction" one value per row. Records that failed (status not
	// 2xx) are skipped.
	PredictionLog
)

// String returns "csv", "jsonl" or "log".
func (f InputFormat) String() string {
	switch f {
	case CSV:
		return "csv"
	case JSONL:
		return "jsonl"
	case PredictionLog:
		return "log"
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
	// Label, when set, names the label column of a CSV or JSONL input,
	// to build the performance profile from the prediction column. It
	// needs Prediction.
	Label *LabelSpec
	// Progress, when set, is called with the bytes read so far, about every
	// ProgressEvery bytes and once at the end.
	Progress func(bytesRead int64)
	// ProgressEvery defaults to 1 MiB.
	ProgressEvery int64
	// Arm, with PredictionLog, keeps only the records of that arm; ""
	// keeps every arm's.
	Arm string
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
	if format != CSV && format != JSONL && format != PredictionLog {
		return nil, fmt.Errorf("cannot build reference: unknown input format %d", format)
	}
	if format == PredictionLog && opts.Label != nil {
		return nil, errors.New("cannot build reference: the prediction log has no label column")
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

// builder accumulates reference statistics.
type builder struct {
	opts    BuildOptions
	accs    []*acc // features, then the prediction
	rows    uint64
	exact   int64 // numeric values kept, over all features
	sketch  bool
	missing map[string]bool
	pass2   bool
	rows2   uint64   // rows of the second pass
	perf    *perfAcc // with opts.Label
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
	if l := opts.Label; l != nil {
		pa, err := newPerfAcc(*l, opts.Prediction, func(name string) bool { return seen[name] })
		if err != nil {
			return nil, err
		}
		b.perf = pa
	}
	return b, nil
}

// numericAccs returns the accumulators of numeric values: the numeric
// features and prediction, and the |error| of a numeric label.
func (b *builder) numericAccs() []*acc {
	out := make([]*acc, 0, len(b.accs)+1)
	for _, a := range b.accs {
		if a.typ == payload.Numeric {
			out = append(out, a)
		}
	}
	if b.perf != nil && b.perf.absErr != nil {
		out = append(out, b.perf.absErr)
	}
	return out
}

func (b *builder) hasPrediction() bool { return b.opts.Prediction != nil }

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

func (b *builder) needSecondPass() bool {
	if !b.sketch {
		return false
	}
	for _, a := range b.numericAccs() {
		if a.count > 0 {
			return true
		}
	}
	return false
}

// prepareSecondPass fixes candidate edges from the sketches.
func (b *builder) prepareSecondPass() {
	b.pass2 = true
	for _, a := range b.numericAccs() {
		if a.count == 0 {
			continue
		}
		view := newSortedView(a.sk.items())
		q := quantiles(view, b.opts.Bins)
		pm := pointMassesView(view, b.opts.Bins)
		a.cand = candidateEdges(q, pm, a.min, a.max)
		a.candCounts = make([]uint64, len(a.cand)+1)
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
	if b.perf != nil {
		perf, err := b.performance(p.Prediction)
		if err != nil {
			return nil, err
		}
		p.Performance = perf
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
