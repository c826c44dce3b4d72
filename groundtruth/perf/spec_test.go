package perf

import (
	"math"
	"strings"
	"testing"
)

func TestSpecWithDefaults(t *testing.T) {
	s, err := Spec{Kind: Binary}.WithDefaults()
	if err != nil || s.Threshold != 0.5 || s.ScoreBins != 20 {
		t.Fatalf("binary defaults %+v, %v; want threshold 0.5, 20 bins", s, err)
	}
	many := make([]string, MaxClasses+1)
	for i := range many {
		many[i] = strings.Repeat("c", i+1)
	}
	for _, tc := range []struct {
		spec    Spec
		wantErr string
	}{
		{Spec{}, "kind: must be binary, categorical or numeric"},
		{Spec{Kind: Binary, Threshold: 1.5}, "threshold:"},
		{Spec{Kind: Binary, Threshold: math.NaN()}, "threshold:"},
		{Spec{Kind: Binary, ScoreBins: MaxScoreBins + 1}, "score_bins:"},
		{Spec{Kind: Binary, ScoreBins: -1}, "score_bins:"},
		{Spec{Kind: Binary, Classes: []string{"a"}}, "classes: a binary label names two classes"},
		{Spec{Kind: Categorical}, "classes: a categorical label needs 1 to 64"},
		{Spec{Kind: Categorical, Classes: many}, "got 65"},
		{Spec{Kind: Categorical, Classes: []string{"a", "b", "a"}}, `classes[2]: "a" repeats classes[0]`},
		{Spec{Kind: Categorical, Classes: []string{"a", ""}}, "classes[1]: must not be empty"},
		{Spec{Kind: Numeric, Classes: []string{"a"}}, "classes: a numeric label takes none"},
	} {
		if _, err := tc.spec.WithDefaults(); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%+v: error %v; want one with %q", tc.spec, err, tc.wantErr)
		}
	}
	if _, err := (Spec{Kind: Categorical, Classes: many[:MaxClasses]}).WithDefaults(); err != nil {
		t.Errorf("%d classes: %v; want them accepted", MaxClasses, err)
	}
}

func TestKindNames(t *testing.T) {
	for _, k := range []Kind{Binary, Categorical, Numeric} {
		if got, err := ParseKind(k.String()); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v; want %v", k.String(), got, err, k)
		}
	}
	if _, err := ParseKind("ordinal"); err == nil || !strings.Contains(err.Error(), `"ordinal"`) {
		t.Errorf("ParseKind(ordinal) error %v; want one naming it", err)
	}
	if got := Kind(9).String(); got != "Kind(9)" {
		t.Errorf("Kind(9) = %q", got)
	}
}

func TestSpecPredictedAndOutcome(t *testing.T) {
	s := mustSpec(t, Spec{Kind: Binary, Threshold: 0.7})
	if s.Predicted(0.7) != 1 || s.Predicted(0.6999) != 0 || !math.IsNaN(s.Predicted(math.NaN())) {
		t.Errorf("threshold 0.7: Predicted(0.7) %v, (0.6999) %v, (NaN) %v; want 1, 0, NaN",
			s.Predicted(0.7), s.Predicted(0.6999), s.Predicted(math.NaN()))
	}
	if o := s.Outcome(1, math.NaN(), 0.9); o.Predicted != 1 || o.Score != 0.9 {
		t.Errorf("Outcome from a score: %+v", o)
	}
	if o := s.Outcome(1, 0, 0.9); o.Predicted != 0 {
		t.Errorf("Outcome with a prediction kept: %+v; want Predicted 0", o)
	}
	c := mustSpec(t, Spec{Kind: Categorical, Classes: []string{"a", "b"}})
	if c.ClassIndex("b") != 1 || c.ClassIndex("zebra") != 2 {
		t.Errorf("ClassIndex(b) %d, (zebra) %d; want 1, 2 (other)", c.ClassIndex("b"), c.ClassIndex("zebra"))
	}
	if o := c.Outcome(1, 0, 0.9); !math.IsNaN(o.Score) {
		t.Errorf("categorical Outcome kept a score: %+v", o)
	}
}
