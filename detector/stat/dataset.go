package stat

import (
	"cmp"
	"math"
	"slices"
)

// Correction selects a multiple-testing procedure across features.
type Correction uint8

// Corrections across features.
const (
	// Holm is Holm's step-down procedure; it controls the family-wise
	// error rate.
	Holm Correction = iota
	// BenjaminiHochberg is the Benjamini–Hochberg step-up procedure; it
	// controls the false discovery rate.
	BenjaminiHochberg
)

// String returns "holm" or "bh".
func (c Correction) String() string {
	if c == BenjaminiHochberg {
		return "bh"
	}
	return "holm"
}

// HolmReject marks in reject (len(p) entries) the hypotheses Holm's
// procedure rejects at family-wise level alpha and returns how many: with
// p sorted ascending, reject p_(1..k) for the largest k such that
// p_(i) ≤ alpha/(m−i+1) for every i ≤ k. NaN p-values are never rejected.
// It allocates an index slice; Dataset does not.
func HolmReject(p []float64, alpha float64, reject []bool) int {
	return correct(Holm, p, alpha, reject, make([]int, len(p)))
}

// BHReject marks in reject (len(p) entries) the hypotheses the
// Benjamini–Hochberg procedure rejects at false-discovery rate q and
// returns how many: with p sorted ascending, reject p_(1..k) for the
// largest k with p_(k) ≤ k·q/m. NaN p-values are never rejected.
func BHReject(p []float64, q float64, reject []bool) int {
	return correct(BenjaminiHochberg, p, q, reject, make([]int, len(p)))
}

func correct(c Correction, p []float64, alpha float64, reject []bool, idx []int) int {
	idx = idx[:0]
	for i := range p {
		reject[i] = false
		if !math.IsNaN(p[i]) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	m := float64(len(p))
	k := 0
	switch c {
	case BenjaminiHochberg:
		for i := len(idx) - 1; i >= 0; i-- {
			if p[idx[i]] <= float64(i+1)*alpha/m {
				k = i + 1
				break
			}
		}
	default:
		for i, j := range idx {
			if p[j] > alpha/(m-float64(i)) {
				break
			}
			k = i + 1
		}
	}
	for _, j := range idx[:k] {
		reject[j] = true
	}
	return k
}

// DatasetResult is the dataset-level view of one tick.
type DatasetResult struct {
	// Features is the number of features, Drifted those in state drift,
	// and Share = Drifted/Features.
	Features, Drifted int
	Share             float64
	// Rejected is the number of features whose evaluation p-value the
	// correction rejects; Reject marks them (in feature order).
	Rejected int
	Reject   []bool
	// State is drift when the correction rejects any feature, else
	// insufficient_data when any feature lacks data, else ok.
	State State
}

// Dataset applies a correction across the last evaluations of a set of
// features. It reuses its buffers: not safe for concurrent use.
type Dataset struct {
	c     Correction
	alpha float64
	p     []float64
	idx   []int
	res   DatasetResult
}

// NewDataset returns a dataset-level test with correction c at level alpha
// on the features' evaluation p-values (Evaluation.PValue). A natural alpha
// is Feature.FamilyAlpha: the level at which one feature alone alarms.
func NewDataset(c Correction, alpha float64) *Dataset {
	return &Dataset{c: c, alpha: alpha}
}

// Evaluate reads the last evaluation of every feature. The result is valid
// until the next call. It does not allocate once its buffers have grown to
// len(features).
func (d *Dataset) Evaluate(features []*Feature) *DatasetResult {
	n := len(features)
	if cap(d.p) < n {
		d.p, d.idx, d.res.Reject = make([]float64, n), make([]int, n), make([]bool, n)
	}
	d.p, d.res.Reject = d.p[:n], d.res.Reject[:n]
	r := &d.res
	r.Features, r.Drifted, r.State = n, 0, StateOK
	for i, f := range features {
		e := f.Last()
		d.p[i] = e.PValue
		if e.State == StateDrift {
			r.Drifted++
		}
		if e.Signal == SignalInsufficient {
			r.State = StateInsufficientData
		}
	}
	r.Share = 0
	if n > 0 {
		r.Share = float64(r.Drifted) / float64(n)
	}
	r.Rejected = correct(d.c, d.p, d.alpha, r.Reject, d.idx[:n])
	if r.Rejected > 0 {
		r.State = StateDrift
	}
	return r
}
