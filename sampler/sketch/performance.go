package sketch

import (
	"fmt"
	"math"
)

// Label types of a PerformanceProfile, as ground_truth.label.type names
// them.
const (
	LabelBinary      = "binary"
	LabelCategorical = "categorical"
	LabelNumeric     = "numeric"
)

// PerformanceProfile is the model's performance on the labelled reference
// rows: the baseline that live performance is tested against.
//
// Classification (binary, categorical): Errors counts wrong predictions;
// a binary score is class 1 when score >= Threshold. Numeric: MAE, RMSE
// and MeanError (mean of prediction - label) of the errors, and the
// distribution of |prediction - label| in reference quantile cells, as a
// numeric feature's Edges and Counts.
type PerformanceProfile struct {
	Type string `json:"type"`
	// Rows is the number of labelled rows used.
	Rows uint64 `json:"rows"`
	// Skipped counts the rows whose label or prediction was missing or
	// invalid.
	Skipped uint64 `json:"skipped"`
	// Errors counts wrong predictions (classification).
	Errors    uint64   `json:"errors"`
	Threshold float64  `json:"threshold,omitempty"`
	Classes   []string `json:"classes,omitempty"`

	MAE       float64 `json:"mae,omitempty"`
	RMSE      float64 `json:"rmse,omitempty"`
	MeanError float64 `json:"mean_error,omitempty"`
	// AbsErrorEdges are the inner edges of the |error| cells; cell i is
	// (edges[i-1], edges[i]], and AbsErrorCounts has one more entry than
	// the edges.
	AbsErrorEdges  []float64 `json:"abs_error_edges,omitempty"`
	AbsErrorCounts []uint64  `json:"abs_error_counts,omitempty"`
}

// Accuracy returns the share of correct predictions, or NaN for a numeric
// label or without rows.
func (p *PerformanceProfile) Accuracy() float64 {
	if p.Type == LabelNumeric || p.Rows == 0 {
		return math.NaN()
	}
	return 1 - float64(p.Errors)/float64(p.Rows)
}

// Validate checks the internal consistency of p; Profile.Validate calls
// it.
func (p *PerformanceProfile) Validate() error {
	fail := func(field, format string, args ...any) error {
		return fmt.Errorf("reference: performance.%s: %s", field, fmt.Sprintf(format, args...))
	}
	if p.Rows == 0 {
		return fail("rows", "0, want at least one labelled row")
	}
	numeric := p.Type == LabelNumeric
	switch p.Type {
	case LabelBinary:
		if !(p.Threshold > 0 && p.Threshold < 1) {
			return fail("threshold", "%v, want in (0, 1)", p.Threshold)
		}
	case LabelCategorical:
		if len(p.Classes) > MaxCategories {
			return fail("classes", "%d classes, more than %d", len(p.Classes), MaxCategories)
		}
		seen := make(map[string]bool, len(p.Classes))
		for i, c := range p.Classes {
			if seen[c] {
				return fail("classes", "duplicate %q at index %d", c, i)
			}
			seen[c] = true
		}
	case LabelNumeric:
	default:
		return fail("type", "%q, want binary, categorical or numeric", p.Type)
	}
	if p.Type != LabelBinary && p.Threshold != 0 {
		return fail("threshold", "set on a %s label", p.Type)
	}
	if p.Type != LabelCategorical && len(p.Classes) > 0 {
		return fail("classes", "set on a %s label", p.Type)
	}
	if !numeric {
		if p.Errors > p.Rows {
			return fail("errors", "%d exceeds rows %d", p.Errors, p.Rows)
		}
		if p.MAE != 0 || p.RMSE != 0 || p.MeanError != 0 || len(p.AbsErrorEdges) > 0 || len(p.AbsErrorCounts) > 0 {
			return fail("mae", "error statistics set on a %s label", p.Type)
		}
		return nil
	}
	if p.Errors != 0 {
		return fail("errors", "set on a numeric label")
	}
	if !(p.MAE >= 0) || !isFinite(p.MAE) || !(p.RMSE >= 0) || !isFinite(p.RMSE) || !isFinite(p.MeanError) {
		return fail("mae", "mae %v, rmse %v, mean_error %v: want finite, mae and rmse >= 0", p.MAE, p.RMSE, p.MeanError)
	}
	if len(p.AbsErrorEdges) > MaxEdges {
		return fail("abs_error_edges", "%d edges, more than %d", len(p.AbsErrorEdges), MaxEdges)
	}
	for i, e := range p.AbsErrorEdges {
		if !isFinite(e) || e < 0 {
			return fail("abs_error_edges", "index %d (%v) is not a finite number >= 0", i, e)
		}
		if i > 0 && e <= p.AbsErrorEdges[i-1] {
			return fail("abs_error_edges", "not sorted at index %d", i)
		}
	}
	if len(p.AbsErrorCounts) != len(p.AbsErrorEdges)+1 {
		return fail("abs_error_counts", "%d cells, want %d", len(p.AbsErrorCounts), len(p.AbsErrorEdges)+1)
	}
	var sum uint64
	for _, c := range p.AbsErrorCounts {
		sum += c
	}
	if sum != p.Rows {
		return fail("abs_error_counts", "sum %d differs from rows %d", sum, p.Rows)
	}
	return nil
}
