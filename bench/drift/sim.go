package drift

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/driftcar/driftcar/detector/stat"
)

// Shift is a standard distribution change of the detection benchmark.
type Shift struct {
	Name    string
	Numeric bool
	// Mean and Scale change a numeric feature from x to Mean + Scale·x, in
	// reference standard deviations (the reference is N(0, 1)).
	Mean, Scale float64
	// Mix moves this much probability mass from the most to the least
	// frequent category of a categorical feature.
	Mix float64
	// New is the share of categorical rows that take a value never seen.
	New float64
}

// StandardShifts returns the standard shifts: mean +0.25σ and +0.5σ,
// scale ×1.5, a 10% category-mix change and a 5% new category.
func StandardShifts() []Shift {
	return []Shift{
		{Name: "mean+0.25sd", Numeric: true, Mean: 0.25, Scale: 1},
		{Name: "mean+0.5sd", Numeric: true, Mean: 0.5, Scale: 1},
		{Name: "scale*1.5", Numeric: true, Scale: 1.5},
		{Name: "category-mix-10%", Mix: 0.10},
		{Name: "new-category-5%", New: 0.05},
	}
}

// Config configures Simulate. Zero fields take the defaults shown.
type Config struct {
	// Options are the detector options (DefaultOptions when zero).
	Options stat.Options
	// RowsPerSecond is the sampled rate of each feature; default 50.
	RowsPerSecond float64
	// Bins is B for the numeric features; default 20.
	Bins int
	// ReferenceSize is M; default 100000.
	ReferenceSize int
	// Categories is the dictionary size of categorical features (plus
	// OTHER); default 10.
	Categories int
	// Features is the number of stationary features (half numeric);
	// default 20. Days is the virtual time each runs; default 1.
	Features int
	Days     float64
	// Trials per shift; default 20. Horizon bounds each trial; default 30m.
	Trials  int
	Horizon time.Duration
	// Shifts default to StandardShifts.
	Shifts []Shift
	// Exact runs the exact, unbounded-memory KS baseline on numeric shifts.
	Exact bool
	// Seed seeds every generator; the result is deterministic.
	Seed uint64
}

// Result is the outcome of Simulate.
type Result struct {
	Config       Config
	Calibrations []stat.Calibration
	FalseAlarms  FalseAlarms
	Shifts       []ShiftResult
	Memory       Memory
	// ExactAlpha is the per-evaluation level of the exact KS baseline.
	ExactAlpha float64
	Elapsed    time.Duration
}

// FalseAlarms counts drift onsets on stationary streams.
type FalseAlarms struct {
	FeatureDays float64
	Alarms      int
	// PerFeatureDay is Alarms/FeatureDays; Low and High bound it with 95%
	// exact Poisson (Garwood) confidence.
	PerFeatureDay, Low, High float64
	// Configured is the configured rate per feature-day.
	Configured float64
}

// ShiftResult is the detection delay of one shift, for the binned detector
// and (numeric shifts, when enabled) the exact KS baseline.
type ShiftResult struct {
	Shift  Shift
	Binned Delay
	Exact  Delay
}

// Delay summarises the time from a shift's onset to the drift state.
type Delay struct {
	Trials, Detected int
	// Mean is the MTTD over detected trials, ± HalfWidth (95%, normal).
	Mean, HalfWidth, Median, Max time.Duration
}

// Memory compares the per-feature state of the two detectors.
type Memory struct {
	// BinnedBytes is the binned counters (all slices and window sums) plus
	// the reference cells and edges.
	BinnedBytes int64
	// ExactBytes is the largest raw window seen plus the raw reference.
	ExactBytes int64
	// Ratio is BinnedBytes/ExactBytes.
	Ratio float64
}

func (c Config) withDefaults() Config {
	if c.RowsPerSecond == 0 {
		c.RowsPerSecond = 50
	}
	if c.Bins == 0 {
		c.Bins = 20
	}
	if c.ReferenceSize == 0 {
		c.ReferenceSize = 100000
	}
	if c.Categories == 0 {
		c.Categories = 10
	}
	if c.Features == 0 {
		c.Features = 20
	}
	if c.Days == 0 {
		c.Days = 1
	}
	if c.Trials == 0 {
		c.Trials = 20
	}
	if c.Horizon == 0 {
		c.Horizon = 30 * time.Minute
	}
	if c.Shifts == nil {
		c.Shifts = StandardShifts()
	}
	return c
}

// Simulate runs the detection benchmark on a virtual clock: stationary
// streams for the false-alarm rate, then each shift for the detection delay,
// side by side with the exact KS baseline when enabled.
func Simulate(cfg Config) (*Result, error) {
	start := time.Now()
	cfg = cfg.withDefaults()
	if cfg.RowsPerSecond <= 0 || cfg.Bins < 2 || cfg.ReferenceSize < cfg.Bins || cfg.Categories < 1 || cfg.Features < 1 || cfg.Days < 0 || cfg.Trials < 0 {
		return nil, fmt.Errorf("cannot run benchmark with %+v: %w", cfg, stat.ErrBadOptions)
	}
	o := cfg.Options
	o.LazyPValues = true
	cal, err := stat.NewCalibrator(o)
	if err != nil {
		return nil, fmt.Errorf("cannot run benchmark: %w", err)
	}
	b := &bench{cfg: cfg, cal: cal, opts: cal.Options()}
	b.tps = b.opts.TicksPerSlice()
	for i := range b.opts.Windows {
		b.ks = append(b.ks, b.opts.WindowSlices(i))
	}
	b.numRef, b.numRaw = benchNumericReference(cfg.Seed, cfg.ReferenceSize, cfg.Bins)
	b.catRef = benchCategoricalReference(cfg.Categories, uint64(cfg.ReferenceSize))
	res := &Result{Config: cfg}
	for _, ref := range []*stat.Reference{&b.numRef, &b.catRef} {
		c, err := cal.Calibration(ref.Numeric, len(ref.Proportions))
		if err != nil {
			return nil, fmt.Errorf("cannot run benchmark: %w", err)
		}
		res.Calibrations = append(res.Calibrations, c)
	}
	if res.FalseAlarms, err = b.stationary(); err != nil {
		return nil, err
	}
	numCal := res.Calibrations[0]
	// The baseline spends the whole budget of the feature on its one test:
	// Bonferroni over its windows and ticks, the rule that floors the
	// binned calibration.
	b.exactAlpha = max(numCal.UnionAlpha*float64(numCal.K)/float64(len(b.ks)), numCal.Alpha)
	res.ExactAlpha = b.exactAlpha
	for i, sh := range cfg.Shifts {
		r, err := b.shift(sh, cfg.Seed+uint64(i)*7919+17)
		if err != nil {
			return nil, err
		}
		res.Shifts = append(res.Shifts, r)
	}
	ring := stat.NewSliceRing(len(b.numRef.Proportions), b.ks)
	res.Memory.BinnedBytes = int64(ring.Bytes() + 8*(2*len(b.numRef.Proportions)-1))
	res.Memory.ExactBytes = int64(8 * (b.peakRaw + len(b.numRaw)))
	if res.Memory.ExactBytes > 0 && b.peakRaw > 0 {
		res.Memory.Ratio = float64(res.Memory.BinnedBytes) / float64(res.Memory.ExactBytes)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

type bench struct {
	cfg        Config
	cal        *stat.Calibrator
	opts       stat.Options
	tps        int
	ks         []int
	numRef     stat.Reference
	numRaw     []float64 // sorted raw reference
	catRef     stat.Reference
	exactAlpha float64
	peakRaw    int
}

var benchEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// benchNumericReference draws M values of N(0, 1) and bins them at their
// quantiles i/B, so that every cell holds M/B values (±1).
func benchNumericReference(seed uint64, m, bins int) (stat.Reference, []float64) {
	rng := rand.New(rand.NewPCG(seed, 0x726566))
	raw := make([]float64, m)
	var sum, sq float64
	for i := range raw {
		raw[i] = rng.NormFloat64()
		sum += raw[i]
	}
	slices.Sort(raw)
	mean := sum / float64(m)
	for _, x := range raw {
		sq += (x - mean) * (x - mean)
	}
	edges := make([]float64, bins-1)
	for i := range edges {
		k := (i + 1) * m / bins
		edges[i] = (raw[k-1] + raw[k]) / 2
	}
	props := make([]float64, bins)
	prev := 0
	for i := range props {
		k := m
		if i < bins-1 {
			k = sort.SearchFloat64s(raw, edges[i])
		}
		props[i] = float64(k-prev) / float64(m)
		prev = k
	}
	return stat.Reference{
		Numeric: true, Proportions: props, M: uint64(m), Edges: edges,
		Min: raw[0], Max: raw[m-1], Mean: mean, Std: math.Sqrt(sq / float64(m)),
		MissingRate: 0.01, InvalidRate: 0.001, OtherCell: -1,
	}, raw
}

// benchCategoricalReference has Zipf(1) categories holding 95% of the mass
// and an OTHER cell with 5%, of which a tenth is unseen live.
func benchCategoricalReference(cats int, m uint64) stat.Reference {
	p := make([]float64, cats+1)
	var h float64
	for i := range cats {
		h += 1 / float64(i+1)
	}
	for i := range cats {
		p[i] = 0.95 / float64(i+1) / h
	}
	p[cats] = 0.05
	return stat.Reference{Proportions: p, M: m, MissingRate: 0.01, InvalidRate: 0.001, UnseenRate: 0.005, OtherCell: cats}
}

// rowsPerTick spreads a fractional rate over ticks.
type rowsPerTick struct{ rate, acc float64 }

func (r *rowsPerTick) next() int {
	r.acc += r.rate
	n := int(r.acc)
	r.acc -= float64(n)
	return n
}

// stationary runs the stationary features and counts drift onsets.
func (b *bench) stationary() (FalseAlarms, error) {
	cfg := b.cfg
	tau := b.opts.Every
	warm := b.ks[len(b.ks)-1] * b.tps
	ticks := int(cfg.Days * float64(24*time.Hour) / float64(tau))
	fa := FalseAlarms{Configured: b.opts.FalseAlarmRate.PerSecond() * 86400}
	for i := range cfg.Features {
		ref := &b.numRef
		if i%2 == 1 {
			ref = &b.catRef
		}
		f, err := b.cal.NewFeature(fmt.Sprintf("stationary-%d", i), *ref)
		if err != nil {
			return fa, fmt.Errorf("cannot run benchmark: %w", err)
		}
		ring := stat.NewSliceRing(len(ref.Proportions), b.ks)
		stream, err := stat.NewNullStream(*ref)
		if err != nil {
			return fa, fmt.Errorf("cannot run benchmark: %w", err)
		}
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)+0x73746174))
		rows := rowsPerTick{rate: cfg.RowsPerSecond * tau.Seconds()}
		for t := range warm + ticks {
			stream.Rows(rng, ring, rows.next())
			ring.Flush()
			_, ev, changed := f.Evaluate(benchEpoch.Add(time.Duration(t+1)*tau), ring.Windows())
			if changed && ev.To == stat.StateDrift && t >= warm {
				fa.Alarms++
			}
			if (t+1)%b.tps == 0 {
				ring.Rotate()
			}
		}
	}
	fa.FeatureDays = float64(cfg.Features) * float64(ticks) * tau.Seconds() / 86400
	if fa.FeatureDays > 0 {
		fa.PerFeatureDay = float64(fa.Alarms) / fa.FeatureDays
		fa.Low, fa.High = poissonInterval(fa.Alarms)
		fa.Low /= fa.FeatureDays
		fa.High /= fa.FeatureDays
	}
	return fa, nil
}

// poissonInterval is the exact (Garwood) 95% interval of a Poisson mean
// after k events.
func poissonInterval(k int) (lo, hi float64) {
	if k > 0 {
		lo = stat.Chi2ISF(2*k, 0.975) / 2
	}
	return lo, stat.Chi2ISF(2*k+2, 0.025) / 2
}

// shift runs the trials of one shift.
func (b *bench) shift(sh Shift, seed uint64) (ShiftResult, error) {
	ref := &b.catRef
	if sh.Numeric {
		ref = &b.numRef
	}
	f, err := b.cal.NewFeature(sh.Name, *ref)
	if err != nil {
		return ShiftResult{}, fmt.Errorf("cannot run benchmark: %w", err)
	}
	res := ShiftResult{Shift: sh}
	var binned, exact []time.Duration
	rng := rand.New(rand.NewPCG(seed, 0x7368696674))
	gen := newShiftGen(ref, sh)
	var ex *exactKS
	if sh.Numeric && b.cfg.Exact {
		ex = newExactKS(b.numRaw, b.ks, &b.opts, b.exactAlpha)
	}
	for range b.cfg.Trials {
		d1, ok1, d2, ok2 := b.trial(f, gen, ex, rng)
		res.Binned.Trials++
		if ok1 {
			binned = append(binned, d1)
		}
		if ex != nil {
			res.Exact.Trials++
			if ok2 {
				exact = append(exact, d2)
			}
		}
	}
	res.Binned.summarise(binned)
	res.Exact.summarise(exact)
	return res, nil
}

func (d *Delay) summarise(ds []time.Duration) {
	d.Detected = len(ds)
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	var sum, sq float64
	for _, x := range ds {
		sum += x.Seconds()
	}
	mean := sum / float64(len(ds))
	for _, x := range ds {
		sq += (x.Seconds() - mean) * (x.Seconds() - mean)
	}
	d.Mean = time.Duration(mean * float64(time.Second))
	if len(ds) > 1 {
		d.HalfWidth = time.Duration(1.96 * math.Sqrt(sq/float64(len(ds)-1)/float64(len(ds))) * float64(time.Second))
	}
	d.Median = ds[len(ds)/2]
	d.Max = ds[len(ds)-1]
}

// trial warms both detectors on stationary rows, starts the shift at a
// random phase of a tick, and returns each detector's delay to drift.
func (b *bench) trial(f *stat.Feature, gen *shiftGen, ex *exactKS, rng *rand.Rand) (time.Duration, bool, time.Duration, bool) {
	tau := b.opts.Every
	ring := stat.NewSliceRing(len(gen.ref.Proportions), b.ks)
	f.Reset()
	if ex != nil {
		ex.reset()
	}
	rows := rowsPerTick{rate: b.cfg.RowsPerSecond * tau.Seconds()}
	warm := b.ks[len(b.ks)-1]*b.tps + b.tps
	now := benchEpoch
	t := 0
	step := func(pre, post int) {
		gen.rows(rng, ring, ex, pre, false)
		gen.rows(rng, ring, ex, post, true)
		ring.Flush()
		t++
		now = benchEpoch.Add(time.Duration(t) * tau)
	}
	rotate := func() {
		if t%b.tps == 0 {
			ring.Rotate()
			if ex != nil {
				ex.Rotate()
			}
		}
	}
	for t < warm {
		step(rows.next(), 0)
		if t > warm-b.tps {
			f.Evaluate(now, ring.Windows())
			if ex != nil {
				ex.evaluate(now)
			}
		}
		rotate()
	}
	phase := rng.Float64()
	onset := now.Add(time.Duration(phase * float64(tau)))
	n := rows.next()
	pre := int(math.Round(phase * float64(n)))
	step(pre, n-pre)
	var d1, d2 time.Duration
	ok1, ok2 := false, ex == nil
	for {
		if !ok1 {
			if _, ev, ch := f.Evaluate(now, ring.Windows()); ch && ev.To == stat.StateDrift {
				d1, ok1 = now.Sub(onset), true
			}
		}
		if !ok2 {
			if ex.evaluate(now) == stat.StateDrift {
				d2, ok2 = now.Sub(onset), true
			}
		}
		if ok1 && ok2 || now.Sub(onset) >= b.cfg.Horizon {
			break
		}
		rotate()
		step(0, rows.next())
	}
	if ex != nil {
		b.peakRaw = max(b.peakRaw, ex.peak)
	}
	return d1, ok1, d2, ok2 && ex != nil
}

// shiftGen draws the rows of a feature before and after its shift.
type shiftGen struct {
	ref          *stat.Reference
	sh           Shift
	before, shft stat.Alias
	pOther       float64
}

func newShiftGen(ref *stat.Reference, sh Shift) *shiftGen {
	g := &shiftGen{ref: ref, sh: sh}
	if ref.Numeric {
		return g
	}
	p := slices.Clone(ref.Proportions)
	g.before = stat.NewAlias(p)
	if sh.Mix > 0 {
		hi, lo := 0, 0
		for i := range ref.OtherCell {
			if p[i] > p[hi] {
				hi = i
			}
			if p[i] < p[lo] {
				lo = i
			}
		}
		mv := min(sh.Mix, p[hi])
		p[hi] -= mv
		p[lo] += mv
	}
	g.shft = stat.NewAlias(p)
	g.pOther = ref.UnseenRate / ref.Proportions[ref.OtherCell]
	return g
}

// rows draws n rows into the ring (and the exact baseline's raw slices).
func (g *shiftGen) rows(rng *rand.Rand, ring *stat.SliceRing, ex *exactKS, n int, shifted bool) {
	t := ring.Tick()
	c := len(g.ref.Proportions)
	r := g.ref
	for range n {
		u := rng.Float64()
		switch {
		case u < r.MissingRate:
			t[c+stat.ExtraMissing]++
			continue
		case u < r.MissingRate+r.InvalidRate:
			t[c+stat.ExtraInvalid]++
			continue
		}
		if r.Numeric {
			x := rng.NormFloat64()
			if shifted {
				x = g.sh.Mean + g.sh.Scale*x
			}
			switch {
			case x < r.Min:
				t[c+stat.ExtraBelow]++
			case x > r.Max:
				t[c+stat.ExtraAbove]++
			default:
				t[sort.SearchFloat64s(r.Edges, x)]++
			}
			if ex != nil {
				ex.add(x)
			}
			continue
		}
		if shifted && g.sh.New > 0 && rng.Float64() < g.sh.New {
			t[c+stat.ExtraUnseen]++
			continue
		}
		tab := &g.before
		if shifted {
			tab = &g.shft
		}
		i := tab.Draw(rng)
		if i == r.OtherCell && rng.Float64() < g.pOther {
			t[c+stat.ExtraUnseen]++
		} else {
			t[i]++
		}
	}
}

// exactKS is the unbounded-memory baseline: it keeps every raw value of its
// windows and runs the exact two-sample KS test against the raw reference,
// with the Kolmogorov asymptotic threshold at its per-evaluation level.
type exactKS struct {
	ref                        []float64
	slices                     [][]float64
	cur                        int
	ks                         []int
	buf                        []float64
	h                          stat.Hysteresis
	mach                       stat.Machine
	minN                       uint64
	lamBreach, lamWarn, lamStr float64
	peak                       int
}

func newExactKS(ref []float64, ks []int, o *stat.Options, alpha float64) *exactKS {
	e := &exactKS{ref: ref, ks: ks, minN: o.MinSamples, h: o.Hysteresis, mach: stat.NewMachine(o.Hysteresis)}
	e.slices = make([][]float64, ks[len(ks)-1])
	e.lamBreach = stat.KolmogorovISF(alpha)
	e.lamWarn = stat.KolmogorovISF(min(alpha*o.WarnRatio, 0.5))
	e.lamStr = stat.KolmogorovISF(alpha * o.StrongRatio)
	return e
}

func (e *exactKS) reset() {
	for i := range e.slices {
		e.slices[i] = e.slices[i][:0]
	}
	e.cur = 0
	e.mach = stat.NewMachine(e.h)
}

func (e *exactKS) add(x float64) { e.slices[e.cur] = append(e.slices[e.cur], x) }

func (e *exactKS) Rotate() {
	e.cur = (e.cur + 1) % len(e.slices)
	e.slices[e.cur] = e.slices[e.cur][:0]
}

// evaluate runs the test on every window and steps the state machine.
func (e *exactKS) evaluate(now time.Time) stat.State {
	sig := stat.SignalClean
	held := 0
	for _, s := range e.slices {
		held += len(s)
	}
	e.peak = max(e.peak, held)
	for _, k := range e.ks {
		e.buf = e.buf[:0]
		for j := range k {
			e.buf = append(e.buf, e.slices[(e.cur-j+len(e.slices))%len(e.slices)]...)
		}
		n := len(e.buf)
		if uint64(n) < e.minN {
			if sig == stat.SignalClean {
				sig = stat.SignalInsufficient
			}
			continue
		}
		slices.Sort(e.buf)
		d := ksTwoSample(e.buf, e.ref)
		ne := float64(n) * float64(len(e.ref)) / float64(n+len(e.ref))
		lam := d * math.Sqrt(ne)
		switch {
		case lam > e.lamStr:
			sig = max(sig, stat.SignalStrong)
		case lam > e.lamBreach:
			sig = max(sig, stat.SignalBreach)
		case lam > e.lamWarn:
			sig = max(sig, stat.SignalNear)
		}
	}
	st, _ := e.mach.Step(now, sig)
	return st
}

// ksTwoSample is the exact two-sample KS distance of two sorted samples.
func ksTwoSample(a, b []float64) float64 {
	var i, j int
	var d float64
	na, nb := float64(len(a)), float64(len(b))
	for i < len(a) && j < len(b) {
		x := min(a[i], b[j])
		for i < len(a) && a[i] <= x {
			i++
		}
		for j < len(b) && b[j] <= x {
			j++
		}
		d = max(d, math.Abs(float64(i)/na-float64(j)/nb))
	}
	return d
}
