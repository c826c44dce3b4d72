package sketch

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/driftcar/driftcar/internal/payload"
)

// LabelSpec names the label column of a training file, so that
// BuildReference also profiles the model's performance: the prediction
// column against the label column, row by row.
type LabelSpec struct {
	// Column is the CSV column or JSONL key of the label. Required.
	Column string
	// Type is LabelBinary (0/1, true/false), LabelCategorical (a class
	// name) or LabelNumeric.
	Type string
	// Threshold makes a numeric binary prediction (a score) class 1 when
	// score >= Threshold. Default 0.5.
	Threshold float64
	// Classes, when set, are the only valid categorical labels; without
	// them the profile's classes are the prediction profile's categories.
	Classes []string
}

// perfAcc accumulates the performance of the labelled rows.
type perfAcc struct {
	spec    LabelSpec
	classes map[string]bool // spec.Classes, when set
	// numericPred: the prediction is a number (a score, for binary).
	numericPred bool
	// present: some row had the label (JSONL, where a key can be absent).
	present bool

	rows, skipped, errors uint64
	sumAbs, sumSq, sumErr float64
	absErr                *acc // |prediction - label|, through the numeric builder
}

// newPerfAcc checks spec against the prediction that it is compared with.
func newPerfAcc(spec LabelSpec, pred *payload.PredictionSpec, taken func(string) bool) (*perfAcc, error) {
	fail := func(format string, args ...any) (*perfAcc, error) {
		return nil, fmt.Errorf("cannot build reference: label: %s", fmt.Sprintf(format, args...))
	}
	switch {
	case spec.Column == "":
		return fail("empty column name")
	case taken(spec.Column):
		return fail("column %q is also a feature or the prediction", spec.Column)
	case pred == nil:
		return fail("needs the prediction column to compare with")
	}
	switch spec.Type {
	case LabelBinary:
		if spec.Threshold == 0 {
			spec.Threshold = 0.5
		}
		if !(spec.Threshold > 0 && spec.Threshold < 1) {
			return fail("threshold %v, want in (0, 1)", spec.Threshold)
		}
	case LabelCategorical:
		if pred.Type != payload.Categorical {
			return fail("a categorical label needs a categorical prediction")
		}
	case LabelNumeric:
		if pred.Type != payload.Numeric {
			return fail("a numeric label needs a numeric prediction")
		}
	default:
		return fail("type %q, want binary, categorical or numeric", spec.Type)
	}
	pa := &perfAcc{spec: spec, numericPred: pred.Type == payload.Numeric}
	if spec.Type == LabelCategorical && len(spec.Classes) > 0 {
		pa.classes = make(map[string]bool, len(spec.Classes))
		for _, c := range spec.Classes {
			pa.classes[c] = true
		}
	}
	if spec.Type == LabelNumeric {
		pa.absErr = &acc{name: "|error|", typ: payload.Numeric, min: math.Inf(1), max: math.Inf(-1)}
	}
	return pa, nil
}

// addOutcome records one row's prediction and label, given as text
// (CSV fields, or JSON values as fieldText gives them).
func (b *builder) addOutcome(pred, label string) {
	pa := b.perf
	if b.pass2 {
		// Only the |error| cells take a second pass.
		if pa.absErr != nil {
			if p, l, ok := numbers(pred, label); ok {
				b.addNum(pa.absErr, math.Abs(p-l))
			}
		}
		return
	}
	if b.missing[label] || b.missing[pred] {
		pa.skipped++
		return
	}
	switch pa.spec.Type {
	case LabelNumeric:
		p, l, ok := numbers(pred, label)
		if !ok {
			pa.skipped++
			return
		}
		e := p - l
		pa.sumErr += e
		pa.sumAbs += math.Abs(e)
		pa.sumSq += e * e
		b.addNum(pa.absErr, math.Abs(e))
	case LabelBinary:
		l, okl := parseBinary(label)
		p, okp := parseBinary(pred)
		if pa.numericPred {
			s, err := strconv.ParseFloat(strings.TrimSpace(pred), 64)
			p, okp = s >= pa.spec.Threshold, err == nil && isFinite(s)
		}
		if !okl || !okp {
			pa.skipped++
			return
		}
		if p != l {
			pa.errors++
		}
	default:
		if pa.classes != nil && !pa.classes[label] {
			pa.skipped++
			return
		}
		if pred != label {
			pa.errors++
		}
	}
	pa.rows++
}

// numbers parses a numeric prediction and label.
func numbers(pred, label string) (p, l float64, ok bool) {
	p, errP := strconv.ParseFloat(strings.TrimSpace(pred), 64)
	l, errL := strconv.ParseFloat(strings.TrimSpace(label), 64)
	return p, l, errP == nil && errL == nil && isFinite(p) && isFinite(l)
}

// parseBinary reads a binary class: 0 or 1 (as any number), or true or
// false.
func parseBinary(s string) (class, ok bool) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || x != 0 && x != 1 {
		return false, false
	}
	return x == 1, true
}

// addOutcomeFields records one JSONL row's prediction and label.
func (b *builder) addOutcomeFields(pred, label payload.Field) {
	if label.Kind != payload.FieldAbsent {
		b.perf.present = true
	}
	p, okP := fieldText(pred)
	l, okL := fieldText(label)
	if !okP || !okL {
		if !b.pass2 {
			b.perf.skipped++
		}
		return
	}
	b.addOutcome(p, l)
}

// fieldText returns a JSON scalar as addOutcome takes it: a string's
// text, a number's token, "true" or "false". It reports false for an
// absent or null value, an object or an array.
func fieldText(f payload.Field) (string, bool) {
	switch f.Kind {
	case payload.FieldNumber, payload.FieldTrue, payload.FieldFalse, payload.FieldString:
		return string(f.Text), true
	}
	return "", false
}

// performance finishes the performance profile; pred is the finished
// prediction profile.
func (b *builder) performance(pred *FeatureProfile) (*PerformanceProfile, error) {
	pa := b.perf
	if pa.rows == 0 {
		return nil, fmt.Errorf("cannot build reference: label column %q: no row has both a valid label and a valid prediction (%d skipped)", pa.spec.Column, pa.skipped)
	}
	pp := &PerformanceProfile{Type: pa.spec.Type, Rows: pa.rows, Skipped: pa.skipped, Errors: pa.errors}
	switch pa.spec.Type {
	case LabelBinary:
		pp.Threshold = pa.spec.Threshold
	case LabelCategorical:
		pp.Classes = slices.Clone(pa.spec.Classes)
		if len(pp.Classes) == 0 {
			for _, c := range pred.Categories {
				pp.Classes = append(pp.Classes, c.Value)
			}
		}
	case LabelNumeric:
		n := float64(pa.rows)
		pp.MAE, pp.RMSE, pp.MeanError = pa.sumAbs/n, math.Sqrt(pa.sumSq/n), pa.sumErr/n
		var fp FeatureProfile
		b.finishNum(pa.absErr, &fp)
		pp.AbsErrorEdges, pp.AbsErrorCounts = fp.Edges, fp.Counts
	}
	return pp, nil
}
