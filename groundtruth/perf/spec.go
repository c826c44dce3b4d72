package perf

import (
	"errors"
	"fmt"
	"math"
)

// MaxClasses is the most class names a categorical Spec may list.
const MaxClasses = 64

// Spec defaults and limits.
const (
	DefaultThreshold = 0.5
	DefaultScoreBins = 20
	MaxScoreBins     = 1000
)

// Spec says how labels and predictions are compared. Zero Threshold and
// ScoreBins take their defaults in WithDefaults.
type Spec struct {
	Kind Kind
	// Threshold is for Binary: a score >= Threshold predicts the positive
	// class (1). Default 0.5; it must be in (0, 1].
	Threshold float64
	// Classes are, for Categorical, the class names in index order (at most
	// MaxClasses); index len(Classes) is "other". A Binary spec may name its
	// two classes, index 1 being the positive one. Numeric takes none.
	Classes []string
	// ScoreBins is for Binary: the number of equal-width bins of the
	// positive score on [0, 1] that ROC AUC is computed from. Default 20,
	// at most MaxScoreBins.
	ScoreBins int
}

// WithDefaults returns s with its defaults filled in, or an error naming the
// first bad field.
func (s Spec) WithDefaults() (Spec, error) {
	if s.Threshold == 0 {
		s.Threshold = DefaultThreshold
	}
	if s.ScoreBins == 0 {
		s.ScoreBins = DefaultScoreBins
	}
	switch s.Kind {
	case Binary:
		if !(s.Threshold > 0 && s.Threshold <= 1) {
			return s, fmt.Errorf("threshold: must be in (0, 1], got %v", s.Threshold)
		}
		if s.ScoreBins < 1 || s.ScoreBins > MaxScoreBins {
			return s, fmt.Errorf("score_bins: must be in [1, %d], got %d", MaxScoreBins, s.ScoreBins)
		}
		if len(s.Classes) != 0 && len(s.Classes) != 2 {
			return s, fmt.Errorf("classes: a binary label names two classes or none, got %d", len(s.Classes))
		}
	case Categorical:
		if len(s.Classes) == 0 || len(s.Classes) > MaxClasses {
			return s, fmt.Errorf("classes: a categorical label needs 1 to %d classes, got %d", MaxClasses, len(s.Classes))
		}
	case Numeric:
		if len(s.Classes) != 0 {
			return s, errors.New("classes: a numeric label takes none")
		}
	default:
		return s, fmt.Errorf("kind: must be binary, categorical or numeric, got %v", s.Kind)
	}
	for i, c := range s.Classes {
		if c == "" {
			return s, fmt.Errorf("classes[%d]: must not be empty", i)
		}
		for j := range i {
			if s.Classes[j] == c {
				return s, fmt.Errorf("classes[%d]: %q repeats classes[%d]", i, c, j)
			}
		}
	}
	return s, nil
}

// Predicted thresholds a Binary score into 1 (score >= Threshold) or 0; it
// is NaN for a NaN score.
func (s *Spec) Predicted(score float64) float64 {
	switch {
	case math.IsNaN(score):
		return math.NaN()
	case score >= s.Threshold:
		return 1
	default:
		return 0
	}
}

// Outcome builds an Outcome. For Binary, a NaN predicted is taken from the
// score by Predicted; for the other kinds the score is dropped (NaN).
func (s *Spec) Outcome(actual, predicted, score float64) Outcome {
	if s.Kind != Binary {
		return Outcome{Actual: actual, Predicted: predicted, Score: math.NaN()}
	}
	if math.IsNaN(predicted) {
		predicted = s.Predicted(score)
	}
	return Outcome{Actual: actual, Predicted: predicted, Score: score}
}

// ClassIndex is the index of a class name, or len(Classes) ("other") for a
// name the Spec does not list: the way to map a model's predicted class.
func (s *Spec) ClassIndex(name string) int {
	for i, c := range s.Classes {
		if c == name {
			return i
		}
	}
	return len(s.Classes)
}

// Outcome is one labelled prediction.
type Outcome struct {
	// Actual is the label. Binary: 0 or 1; Categorical: a class index,
	// len(Classes) being "other"; Numeric: the value.
	Actual float64
	// Predicted is Binary: 0 or 1 (already thresholded); Categorical: a
	// class index; Numeric: the prediction.
	Predicted float64
	// Score is Binary: the model's P(positive) in [0, 1], NaN when the model
	// gave none. It feeds log loss and AUC.
	Score float64
}
