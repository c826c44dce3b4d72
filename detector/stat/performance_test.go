package stat

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"gonum.org/v1/gonum/mathext"
)

var perfEpoch = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// perfRun feeds labelled outcomes through a slice ring, as the detector's
// windows would hold them, into a Performance on a virtual clock.
type perfRun struct {
	p    *Performance
	ring *SliceRing
	wins []PerformanceWindow
	tps  int
	t    int
}

func newPerfRun(t *testing.T, c *Calibrator, ref PerformanceReference) *perfRun {
	t.Helper()
	p, err := c.NewPerformance("model", ref)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Options()
	ks := make([]int, len(o.Windows))
	for i := range ks {
		ks[i] = o.WindowSlices(i)
	}
	cells := 2
	if ref.Numeric {
		cells = len(ref.AbsErrorProportions)
	}
	return &perfRun{p: p, ring: NewSliceRing(cells, ks), wins: make([]PerformanceWindow, len(ks)), tps: o.TicksPerSlice()}
}

// now is the virtual time of the next evaluation.
func (r *perfRun) now() time.Time { return perfEpoch.Add(time.Duration(r.t+1) * r.p.opts.Every) }

// tick lets add count one tick's outcomes, then evaluates.
func (r *perfRun) tick(add func(tick []uint64)) (*Evaluation, Event, bool) {
	add(r.ring.Tick())
	r.ring.Flush()
	for i, w := range r.ring.Windows() {
		if r.p.numeric {
			r.wins[i].AbsErrorCells = w.Cells
		} else {
			r.wins[i].N, r.wins[i].Errors = w.Cells[0]+w.Cells[1], w.Cells[1]
		}
	}
	e, ev, changed := r.p.Evaluate(r.now(), r.wins)
	r.t++
	if r.t%r.tps == 0 {
		r.ring.Rotate()
	}
	return e, ev, changed
}

// outcomes draws n classification outcomes with error rate p: cell 0 is
// right, cell 1 wrong.
func outcomes(rng *rand.Rand, p float64, n int) func([]uint64) {
	return func(t []uint64) {
		for range n {
			if rng.Float64() < p {
				t[1]++
			} else {
				t[0]++
			}
		}
	}
}

// halfNormalEdges are the inner edges of c equiprobable bins of |N(0, 1)|.
func halfNormalEdges(c int) []float64 {
	e := make([]float64, c-1)
	for i := range e {
		e[i] = math.Sqrt2 * math.Erfinv(float64(i+1)/float64(c))
	}
	return e
}

// absErrors draws n regression |errors| |N(0, scale²)| into the bins of
// edges.
func absErrors(rng *rand.Rand, edges []float64, scale float64, n int) func([]uint64) {
	return func(t []uint64) {
		for range n {
			t[sort.SearchFloat64s(edges, math.Abs(rng.NormFloat64())*scale)]++
		}
	}
}

func regressionReference(c int, m uint64, labelsPerSecond float64) PerformanceReference {
	p := make([]float64, c)
	for i := range p {
		p[i] = 1
	}
	return PerformanceReference{Numeric: true, M: m, AbsErrorEdges: halfNormalEdges(c), AbsErrorProportions: p, LabelsPerSecond: labelsPerSecond}
}

// poissonUpper is the exact (Garwood) upper 95% bound of a Poisson mean
// after k events.
func poissonUpper(k int) float64 { return Chi2ISF(2*k+2, 0.025) / 2 }

// TestPerformanceFalseAlarmRate runs stationary labelled outcomes (seeded)
// through Performance at a configured rate high enough (1/6h, short
// windows) to count about a hundred alarms in simulated days: the observed
// rate must not exceed it, nor its 95% upper bound twice it.
func TestPerformanceFalseAlarmRate(t *testing.T) {
	o := Options{
		Windows:        []time.Duration{2 * time.Minute, 10 * time.Minute},
		FalseAlarmRate: Rate{Events: 1, Per: 6 * time.Hour},
		Calibration:    CalibrationOptions{Ticks: 600000},
	}
	const labelsPerSecond, streams, days = 10.0, 8, 3
	for _, numeric := range []bool{false, true} {
		t.Run(fmt.Sprintf("numeric=%v", numeric), func(t *testing.T) {
			c, err := NewCalibrator(o)
			if err != nil {
				t.Fatal(err)
			}
			ref := PerformanceReference{ErrorRate: 0.1, M: 1_000_000, LabelsPerSecond: labelsPerSecond}
			edges := halfNormalEdges(10)
			if numeric {
				ref = regressionReference(10, 1_000_000, labelsPerSecond)
			}
			cal, err := c.PerformanceCalibration(ref)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("α %.3g (union %.3g), slope %.2f, %d ticks in %s", cal.Alpha, cal.UnionAlpha, cal.Slope, cal.Ticks, cal.Elapsed)
			if cal.Alpha < cal.UnionAlpha {
				t.Errorf("α %v below the union bound %v", cal.Alpha, cal.UnionAlpha)
			}
			perTick := int(labelsPerSecond * c.Options().Every.Seconds())
			warm := 10 * 6
			ticks := int(days * 86400 / 10)
			alarms := 0
			for s := range streams {
				run := newPerfRun(t, c, ref)
				rng := rand.New(rand.NewPCG(uint64(s), 0x706572))
				add := outcomes(rng, 0.1, perTick)
				if numeric {
					add = absErrors(rng, edges, 1, perTick)
				}
				for i := range warm + ticks {
					if _, ev, ch := run.tick(add); ch && ev.To == StateDrift && i >= warm {
						alarms++
					}
				}
			}
			hours := float64(streams*ticks) * 10 / 3600
			allowed := hours / 6
			t.Logf("%d alarms in %.0f stream-hours; configured %.0f", alarms, hours, allowed)
			if float64(alarms) > allowed {
				t.Errorf("got %d alarms in %.0f hours; want at most %.0f", alarms, hours, allowed)
			}
			if poissonUpper(alarms) > 2*allowed {
				t.Errorf("upper 95%% bound %.0f above twice the configured %.0f", poissonUpper(alarms), allowed)
			}
			if alarms < 30 {
				t.Errorf("got %d alarms: the calibration wastes its budget", alarms)
			}
		})
	}
}

// detectionOptions are the default windows and rate with a short
// calibration budget (its extrapolation is conservative).
func detectionOptions() Options {
	return Options{Calibration: CalibrationOptions{Ticks: 20000}}
}

// TestPerformanceDetectsDrop checks that an accuracy drop from 0.90 to
// 0.85 at 20 labels/s, and regression |errors| growing by 30%, reach drift
// within minutes with the default windows and false-alarm rate.
func TestPerformanceDetectsDrop(t *testing.T) {
	c, err := NewCalibrator(detectionOptions())
	if err != nil {
		t.Fatal(err)
	}
	const perTick = 200 // 20 labels/s, 10 s ticks
	edges := halfNormalEdges(10)
	for _, tc := range []struct {
		name          string
		ref           PerformanceReference
		before, after func(*rand.Rand) func([]uint64)
		within        time.Duration
	}{
		{"accuracy 0.90 to 0.85", PerformanceReference{ErrorRate: 0.1, M: 100_000, LabelsPerSecond: 20},
			func(r *rand.Rand) func([]uint64) { return outcomes(r, 0.10, perTick) },
			func(r *rand.Rand) func([]uint64) { return outcomes(r, 0.15, perTick) }, 5 * time.Minute},
		{"|error| ×1.3", regressionReference(10, 100_000, 20),
			func(r *rand.Rand) func([]uint64) { return absErrors(r, edges, 1, perTick) },
			func(r *rand.Rand) func([]uint64) { return absErrors(r, edges, 1.3, perTick) }, 5 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := newPerfRun(t, c, tc.ref)
			rng := rand.New(rand.NewPCG(3, 4))
			before, after := tc.before(rng), tc.after(rng)
			for range 70 * 6 {
				if e, _, _ := run.tick(before); e.State == StateDrift {
					t.Fatalf("drift at %s before the drop", e.At)
				}
			}
			if s := run.p.State(); s != StateOK {
				t.Fatalf("state %s before the drop; want ok", s)
			}
			onset := run.now()
			for run.now().Sub(onset) < tc.within {
				if _, ev, ch := run.tick(after); ch && ev.To == StateDrift {
					t.Logf("drift after %s: window %d, %s = %.4f > %.4f, p %.3g (α %.3g)", ev.At.Sub(onset), ev.Window, ev.Test, ev.Statistic, ev.Threshold, ev.PValue, run.p.Alpha())
					if ev.Test != run.p.test || !(ev.Statistic > ev.Threshold) || !(ev.PValue < run.p.Alpha()) {
						t.Errorf("evidence %+v does not breach", ev)
					}
					return
				}
			}
			t.Fatalf("no drift within %s of the drop; state %s", tc.within, run.p.State())
		})
	}
}

// TestPerformanceInsufficientData checks that windows with fewer than
// MinSamples labels are never ok, even without errors, and that enough
// labels make them ok.
func TestPerformanceInsufficientData(t *testing.T) {
	o := Options{Windows: []time.Duration{2 * time.Minute, 10 * time.Minute}, FalseAlarmRate: Rate{Events: 1, Per: time.Hour}, Calibration: CalibrationOptions{Ticks: 5000}}
	c, err := NewCalibrator(o)
	if err != nil {
		t.Fatal(err)
	}
	run := newPerfRun(t, c, PerformanceReference{ErrorRate: 0.1, M: 10_000, LabelsPerSecond: 1})
	rng := rand.New(rand.NewPCG(5, 6))
	// 1 label per 10 s: the 2m window holds at most 12 < 200.
	for i := range 200 {
		e, _, _ := run.tick(outcomes(rng, 0, 1))
		if e.State != StateInsufficientData || e.Signal != SignalInsufficient {
			t.Fatalf("tick %d: state %s signal %d with %d labels; want insufficient_data", i, e.State, e.Signal, e.Windows[0].N)
		}
		if e.Windows[0].Tested || !math.IsNaN(e.Windows[0].Stats[TestErrorRate].PValue) {
			t.Fatalf("tick %d: window tested with %d labels", i, e.Windows[0].N)
		}
	}
	// 10 labels/s without errors: ok once both windows hold 200.
	for range 12 {
		run.tick(outcomes(rng, 0, 100))
	}
	if s := run.p.State(); s != StateOK {
		t.Fatalf("state %s with enough labels; want ok", s)
	}
	if n := run.p.Last().Windows[0].N; n < 200 {
		t.Fatalf("window holds %d labels", n)
	}
}

// TestPerformanceImprovementNeverAlarms checks the tests are one-sided: a
// much better model (error rate 0.10 → 0.02; |errors| halved) is never
// even a warning.
func TestPerformanceImprovementNeverAlarms(t *testing.T) {
	c, err := NewCalibrator(detectionOptions())
	if err != nil {
		t.Fatal(err)
	}
	edges := halfNormalEdges(10)
	for _, tc := range []struct {
		name string
		ref  PerformanceReference
		add  func(*rand.Rand) func([]uint64)
	}{
		{"accuracy 0.90 to 0.98", PerformanceReference{ErrorRate: 0.1, M: 100_000, LabelsPerSecond: 20},
			func(r *rand.Rand) func([]uint64) { return outcomes(r, 0.02, 200) }},
		{"|error| ×0.5", regressionReference(10, 100_000, 20),
			func(r *rand.Rand) func([]uint64) { return absErrors(r, edges, 0.5, 200) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := newPerfRun(t, c, tc.ref)
			add := tc.add(rand.New(rand.NewPCG(7, 8)))
			for i := range 3 * 360 {
				e, _, _ := run.tick(add)
				if e.Signal >= SignalNear || e.State >= StateWarning {
					t.Fatalf("tick %d: signal %d state %s on an improvement", i, e.Signal, e.State)
				}
				if w := e.Windows[0]; w.Tested && !(w.Stats[run.p.test].PValue > 0.99) {
					t.Fatalf("tick %d: p-value %v of a better model; want near 1", i, w.Stats[run.p.test].PValue)
				}
			}
			if s := run.p.State(); s != StateOK {
				t.Fatalf("state %s; want ok", s)
			}
		})
	}
}

// logisticDataset is a public-style labelled stream: rows x ~ N(0, I₅), a
// fixed seeded weight vector w (|w| = 1), the model's prediction
// 1[w·x > 0], and labels drawn from a logistic model P(y = 1) = σ(β·w·x)
// whose noise increases after a changepoint (β falls), so the model's
// accuracy drops from 0.90 to 0.85 (β solved with scipy's quad and
// brentq).
type logisticDataset struct {
	rng         *rand.Rand
	w           [5]float64
	beta, after float64
}

const (
	betaAccuracy90 = 5.29955980904459
	betaAccuracy85 = 3.3465572711429883
)

func newLogisticDataset(seed uint64) *logisticDataset {
	d := &logisticDataset{rng: rand.New(rand.NewPCG(seed, 0x6c6f67)), beta: betaAccuracy90, after: betaAccuracy85}
	var n float64
	for i := range d.w {
		d.w[i] = d.rng.NormFloat64()
		n += d.w[i] * d.w[i]
	}
	for i := range d.w {
		d.w[i] /= math.Sqrt(n)
	}
	return d
}

// row draws one row and reports whether the model's prediction is wrong.
func (d *logisticDataset) row(drifted bool) (wrong bool) {
	var s float64
	for _, w := range d.w {
		s += w * d.rng.NormFloat64()
	}
	beta := d.beta
	if drifted {
		beta = d.after
	}
	label := d.rng.Float64() < 1/(1+math.Exp(-beta*s))
	return label != (s > 0)
}

// TestPerformanceReplayDataset replays a labelled dataset with a known
// performance drop at a fixed label rate (20/s) on an injected clock: the
// reference is its first 50000 rows, 8 stationary hours raise no alarm,
// and the drop at 8h moves the state to drift within 10 minutes.
func TestPerformanceReplayDataset(t *testing.T) {
	d := newLogisticDataset(17)
	const m = 50_000
	var refErrors int
	for range m {
		if d.row(false) {
			refErrors++
		}
	}
	ref := PerformanceReference{ErrorRate: float64(refErrors) / m, M: m, LabelsPerSecond: 20}
	t.Logf("reference accuracy %.4f over %d rows", 1-ref.ErrorRate, m)
	if math.Abs(ref.ErrorRate-0.10) > 0.005 {
		t.Fatalf("reference error rate %.4f; want 0.10", ref.ErrorRate)
	}
	c, err := NewCalibrator(detectionOptions())
	if err != nil {
		t.Fatal(err)
	}
	run := newPerfRun(t, c, ref)
	const changepoint = 8 * time.Hour
	var lastRow time.Duration // the replay's clock: one row every 50 ms
	var rowsBefore, errorsBefore, rowsAfter, errorsAfter int
	for {
		now := run.now().Sub(perfEpoch)
		e, ev, changed := run.tick(func(tk []uint64) {
			for ; lastRow < now; lastRow += 50 * time.Millisecond {
				drifted := lastRow >= changepoint
				wrong := d.row(drifted)
				if wrong {
					tk[1]++
				} else {
					tk[0]++
				}
				if drifted {
					rowsAfter++
					errorsAfter += b2i(wrong)
				} else {
					rowsBefore++
					errorsBefore += b2i(wrong)
				}
			}
		})
		if now < changepoint {
			if e.State == StateDrift {
				t.Fatalf("false alarm at %s on the stationary part: %+v", now, ev)
			}
			continue
		}
		if changed && ev.To == StateDrift {
			t.Logf("stationary accuracy %.4f over %d rows; drifted %.4f over %d rows",
				1-float64(errorsBefore)/float64(rowsBefore), rowsBefore, 1-float64(errorsAfter)/float64(rowsAfter), rowsAfter)
			t.Logf("drift %s after the changepoint: window %s, error rate %.4f > %.4f, p %.3g", now-changepoint, e.Windows[ev.Window].Window, ev.Statistic, ev.Threshold, ev.PValue)
			return
		}
		if now-changepoint > 10*time.Minute {
			t.Fatalf("no drift 10 minutes after the changepoint; state %s", e.State)
		}
		if now == changepoint && e.State != StateOK {
			t.Fatalf("state %s at the changepoint; want ok", e.State)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestPerformanceReferenceErrors(t *testing.T) {
	c, err := NewCalibrator(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ref  PerformanceReference
	}{
		{"no rows", PerformanceReference{ErrorRate: 0.1}},
		{"error rate 0", PerformanceReference{ErrorRate: 0, M: 10}},
		{"error rate 1", PerformanceReference{ErrorRate: 1, M: 10}},
		{"negative label rate", PerformanceReference{ErrorRate: 0.1, M: 10, LabelsPerSecond: -1}},
		{"one cell", PerformanceReference{Numeric: true, M: 10, AbsErrorProportions: []float64{1}}},
		{"edges do not match", PerformanceReference{Numeric: true, M: 10, AbsErrorProportions: []float64{1, 1}, AbsErrorEdges: []float64{1, 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.NewPerformance("bad", tc.ref); !errors.Is(err, ErrBadReference) {
				t.Fatalf("got %v; want ErrBadReference", err)
			}
		})
	}
}

// TestPerformanceCalibrationCache checks that classes are cached, that the
// cache stops at maxPerformanceClasses, and that the misses are counted.
func TestPerformanceCalibrationCache(t *testing.T) {
	c, err := NewCalibrator(Options{Windows: []time.Duration{time.Minute}, FalseAlarmRate: Rate{Events: 1, Per: time.Hour}, Calibration: CalibrationOptions{Ticks: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.PerformanceCalibration(PerformanceReference{ErrorRate: 0.101, M: 10, LabelsPerSecond: 3})
	if err != nil {
		t.Fatal(err)
	}
	// 0.1 and 3.04 labels/s round to the same class.
	again, err := c.PerformanceCalibration(PerformanceReference{ErrorRate: 0.1, M: 99, LabelsPerSecond: 3.04})
	if err != nil {
		t.Fatal(err)
	}
	if again.Elapsed != first.Elapsed || again.Alpha != first.Alpha {
		t.Fatalf("the same class was simulated twice: %+v and %+v", first, again)
	}
	for i := range maxPerformanceClasses {
		if _, err := c.PerformanceCalibration(PerformanceReference{ErrorRate: 0.2 + float64(i)*0.01, M: 10, LabelsPerSecond: 3}); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.UncachedPerformanceCalibrations(); got != 1 {
		t.Fatalf("got %d uncached calibrations; want 1 (cache of %d full)", got, maxPerformanceClasses)
	}
	if len(c.perf) != maxPerformanceClasses {
		t.Fatalf("cache holds %d classes; want %d", len(c.perf), maxPerformanceClasses)
	}
}

// TestBinomialTailLower checks the lazy screen's lower bound against the
// exact tail, at integer and effective (fractional) sizes and counts.
func TestBinomialTailLower(t *testing.T) {
	for _, n := range []float64{1, 2.5, 10, 20.5, 37.3, 200, 1234.5, 6000, 41860.3, 1e5} {
		for _, p := range []float64{0.001, 0.01, 0.1, 0.5, 0.9, 0.99} {
			for i := 1; i <= 1000; i++ {
				x := p + (1-p)*float64(i)/1000
				exact := math.Pow(p, n)
				if x < 1 {
					exact = mathext.RegIncBeta(x*n, n-x*n+1, p)
				}
				if lb := binomialTailLower(x, n, p); lb > exact {
					t.Fatalf("n %v p %v x %v: lower bound %g above the tail %g", n, p, x, lb, exact)
				}
			}
		}
	}
}
