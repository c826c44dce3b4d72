package stat

import (
	"errors"
	"fmt"
	"math"
)

// Reference is the reference distribution of one feature, as the sampler's
// profile describes it: C cells with exact proportions.
//
// Numeric features have B = C reference-quantile bins: cell 0 is
// (−∞, e_1], cell i is (e_i, e_{i+1}], cell C−1 is (e_{C−1}, +∞), so values
// below Min or above Max count in the first and last cells for the
// distribution tests and, separately, in the out-of-range rate.
// Categorical features have one cell per dictionary category plus an OTHER
// cell (reference values outside the dictionary); values never seen in the
// reference (UNSEEN) count in the OTHER cell for the distribution tests and,
// separately, in the unseen rate.
type Reference struct {
	// Numeric selects the numeric tests (binned KS, G, PSI, Wasserstein,
	// out-of-range rate); otherwise the categorical ones (G, L∞, unseen
	// rate).
	Numeric bool
	// Proportions are the reference proportions per cell; they are
	// normalised to sum to 1. At least two cells.
	Proportions []float64
	// M is the reference sample size (valid values).
	M uint64
	// Edges are the C−1 inner bin edges of a numeric feature, increasing.
	// Optional: only Wasserstein needs them.
	Edges []float64
	// Min, Max, Mean and Std describe the numeric reference; Std is the
	// population standard deviation. Only Wasserstein uses them.
	Min, Max, Mean, Std float64
	// MissingRate and InvalidRate are the reference shares of missing and
	// unparseable values among all rows.
	MissingRate, InvalidRate float64
	// OutOfRangeRate is the share of valid numeric values to expect outside
	// [Min, Max]; zero means 2/(M+1), the exact rate for a continuous
	// variable and a reference of M values.
	OutOfRangeRate float64
	// UnseenRate is the share of valid categorical values to expect that
	// the reference never saw (the sampler measures it on a hold-out).
	UnseenRate float64
	// OtherCell is the index of the OTHER cell of a categorical feature,
	// where UNSEEN values are folded; −1 when there is none (UNSEEN values
	// then count only in the unseen rate).
	OtherCell int
}

// Window is the exact counts of one window of a feature, in the cell order
// of its Reference, plus the values outside the cells.
type Window struct {
	// Cells are the counts per reference cell: len(Proportions) entries.
	Cells []uint64
	// Below and Above count numeric values under the reference Min and over
	// its Max.
	Below, Above uint64
	// Unseen counts categorical values the reference never saw.
	Unseen uint64
	// Missing and Invalid count absent and unparseable values.
	Missing, Invalid uint64
}

// Valid returns the number of valid values: the cells plus the numeric
// out-of-range and categorical unseen values.
func (w *Window) Valid() uint64 {
	n := w.Below + w.Above + w.Unseen
	for _, c := range w.Cells {
		n += c
	}
	return n
}

// Total returns all rows: valid, missing and invalid.
func (w *Window) Total() uint64 { return w.Valid() + w.Missing + w.Invalid }

// ErrBadReference is wrapped by the errors about an unusable Reference.
var ErrBadReference = errors.New("detector: bad reference")

// validate checks r and returns its proportions normalised into a new slice.
func (r *Reference) validate() ([]float64, error) {
	c := len(r.Proportions)
	if c < 2 {
		return nil, fmt.Errorf("cannot use reference with %d cells: want at least 2: %w", c, ErrBadReference)
	}
	if r.M == 0 {
		return nil, fmt.Errorf("cannot use reference of size 0: %w", ErrBadReference)
	}
	var sum float64
	for i, p := range r.Proportions {
		if !(p >= 0) || math.IsInf(p, 0) {
			return nil, fmt.Errorf("cannot use reference proportion %d = %v: %w", i, p, ErrBadReference)
		}
		sum += p
	}
	if !(sum > 0) {
		return nil, fmt.Errorf("cannot use reference proportions summing to %v: %w", sum, ErrBadReference)
	}
	props := make([]float64, c)
	for i, p := range r.Proportions {
		props[i] = p / sum
	}
	if r.Edges != nil {
		if len(r.Edges) != c-1 {
			return nil, fmt.Errorf("cannot use %d edges for %d cells: want %d: %w", len(r.Edges), c, c-1, ErrBadReference)
		}
		for i := 1; i < len(r.Edges); i++ {
			if !(r.Edges[i] > r.Edges[i-1]) {
				return nil, fmt.Errorf("cannot use edges: edge %d (%v) not above edge %d (%v): %w", i, r.Edges[i], i-1, r.Edges[i-1], ErrBadReference)
			}
		}
	}
	if !r.Numeric && (r.OtherCell < -1 || r.OtherCell >= c) {
		return nil, fmt.Errorf("cannot use other cell %d of %d cells: %w", r.OtherCell, c, ErrBadReference)
	}
	for name, v := range map[string]float64{"missing": r.MissingRate, "invalid": r.InvalidRate, "out-of-range": r.OutOfRangeRate, "unseen": r.UnseenRate} {
		if !(v >= 0 && v < 1) {
			return nil, fmt.Errorf("cannot use %s rate %v: want [0, 1): %w", name, v, ErrBadReference)
		}
	}
	return props, nil
}

// rateFloor returns the reference rate used by a binomial rate test: the
// given rate, but at least 0.5/(M+1) so that a rate never seen in the
// reference is not taken as impossible.
func rateFloor(rate float64, m uint64) float64 {
	return max(rate, 0.5/(float64(m)+1))
}
