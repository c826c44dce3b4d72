package perf

import (
	"math"
	"reflect"
	"testing"
)

func mustSpec(t testing.TB, s Spec) *Spec {
	t.Helper()
	s, err := s.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return &s
}

func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if !(math.Abs(got-want) <= 1e-12*max(1, math.Abs(want))) {
		t.Errorf("%s = %.17g; want %.17g", name, got, want)
	}
}

// binaryFixture: threshold 0.5 gives TP 4, FN 1, FP 2, TN 3.
var binaryFixture = []struct{ actual, score float64 }{
	{1, .9}, {1, .8}, {1, .4}, {1, .6}, {0, .7}, {0, .2}, {0, .1}, {0, .3}, {0, .55}, {1, .95},
}

func TestBinaryMetrics(t *testing.T) {
	for _, tc := range []struct {
		bins          int
		auc, aucBound float64
	}{
		{bins: 1000, auc: 22.0 / 25, aucBound: 0},          // no bin holds a positive and a negative
		{bins: 2, auc: (12 + 11.0/2) / 25, aucBound: 0.22}, // [0,.5): 1 pos, 3 neg; [.5,1]: 4 pos, 2 neg
	} {
		s := mustSpec(t, Spec{Kind: Binary, ScoreBins: tc.bins})
		c := NewCounts(s)
		for _, f := range binaryFixture {
			c.Add(s.Outcome(f.actual, math.NaN(), f.score))
		}
		c.Add(Outcome{Actual: 1, Predicted: 1, Score: math.NaN()}) // right, unscored
		c.Add(Outcome{Actual: 2, Predicted: 1, Score: 0.5})        // invalid label
		m := c.Metrics()
		if m.N != 11 || m.Invalid != 1 || m.Scored != 10 || c.Errors() != 3 {
			t.Fatalf("N %d, Invalid %d, Scored %d, Errors %d; want 11, 1, 10, 3", m.N, m.Invalid, m.Scored, c.Errors())
		}
		if want := [][]uint64{{3, 2}, {1, 5}}; !reflect.DeepEqual(m.Confusion, want) {
			t.Errorf("confusion %v; want %v", m.Confusion, want)
		}
		near(t, "accuracy", m.Accuracy, 8.0/11)
		near(t, "precision", m.Precision, 5.0/7)
		near(t, "recall", m.Recall, 5.0/6)
		near(t, "F1", m.F1, 10.0/13)
		wantLL := -(math.Log(.9) + math.Log(.8) + math.Log(.4) + math.Log(.6) + math.Log(.95) +
			math.Log(.3) + math.Log(.8) + math.Log(.9) + math.Log(.7) + math.Log(.45)) / 10
		near(t, "log loss", m.LogLoss, wantLL)
		near(t, "AUC", m.AUC, tc.auc)
		near(t, "AUC bound", m.AUCBound, tc.aucBound)
		if !math.IsNaN(m.MAE) || !math.IsNaN(m.RMSE) {
			t.Errorf("MAE %v, RMSE %v on a binary label; want NaN", m.MAE, m.RMSE)
		}
	}
}

func TestBinaryLogLossClipsLikeSklearn(t *testing.T) {
	s := mustSpec(t, Spec{Kind: Binary})
	c := NewCounts(s)
	c.Add(s.Outcome(1, math.NaN(), 0)) // log(1e-15), not −Inf
	c.Add(s.Outcome(0, math.NaN(), 0))
	near(t, "log loss", c.Metrics().LogLoss, -math.Log(1e-15)/2)
}

func TestUndefinedMetricsAreNaN(t *testing.T) {
	s := mustSpec(t, Spec{Kind: Binary})
	c := NewCounts(s)
	m := c.Metrics()
	for name, v := range map[string]float64{"accuracy": m.Accuracy, "precision": m.Precision, "AUC": m.AUC, "log loss": m.LogLoss} {
		if !math.IsNaN(v) {
			t.Errorf("empty: %s = %v; want NaN", name, v)
		}
	}
	c.Add(s.Outcome(0, math.NaN(), 0.2)) // no positives: recall and AUC undefined
	m = c.Metrics()
	if m.Accuracy != 1 || !math.IsNaN(m.Recall) || !math.IsNaN(m.Precision) || !math.IsNaN(m.AUC) || !math.IsNaN(m.F1) {
		t.Errorf("one negative: accuracy %v, precision %v, recall %v, F1 %v, AUC %v; want 1 and NaNs",
			m.Accuracy, m.Precision, m.Recall, m.F1, m.AUC)
	}
}

func TestCategoricalMetrics(t *testing.T) {
	s := mustSpec(t, Spec{Kind: Categorical, Classes: []string{"a", "b", "c"}})
	c := NewCounts(s)
	for _, ap := range [][2]float64{{0, 0}, {0, 0}, {0, 1}, {1, 1}, {1, 2}, {2, 2}, {2, 2}, {2, 0}, {3, 2}, {1, 3}, {0, 4}, {0.5, 0}} {
		c.Add(s.Outcome(ap[0], ap[1], math.NaN()))
	}
	m := c.Metrics()
	if m.N != 10 || m.Invalid != 2 {
		t.Fatalf("N %d, Invalid %d; want 10, 2", m.N, m.Invalid)
	}
	want := [][]uint64{{2, 1, 0, 0}, {0, 1, 1, 1}, {1, 0, 2, 0}, {0, 0, 1, 0}}
	if !reflect.DeepEqual(m.Confusion, want) {
		t.Errorf("confusion %v; want %v", m.Confusion, want)
	}
	near(t, "accuracy", m.Accuracy, 0.5)
	// Per class (a, b, c, other): P 2/3, 1/2, 2/4, 0; R 2/3, 1/3, 2/3, 0; F1 2/3, 2/5, 4/7, 0.
	near(t, "macro precision", m.Precision, (2.0/3+0.5+0.5)/4)
	near(t, "macro recall", m.Recall, (2.0/3+1.0/3+2.0/3)/4)
	near(t, "macro F1", m.F1, (2.0/3+0.4+4.0/7)/4)
	if !math.IsNaN(m.AUC) || !math.IsNaN(m.LogLoss) {
		t.Errorf("AUC %v, log loss %v on a categorical label; want NaN", m.AUC, m.LogLoss)
	}
}

func TestNumericMetrics(t *testing.T) {
	s := mustSpec(t, Spec{Kind: Numeric})
	c := NewCounts(s)
	for _, ap := range [][2]float64{{1, 1.5}, {2, 1}, {3, 3}, {4, 6}, {5, math.NaN()}, {math.Inf(1), 1}} {
		c.Add(s.Outcome(ap[0], ap[1], math.NaN()))
	}
	m := c.Metrics()
	if m.N != 4 || m.Invalid != 2 || c.Errors() != 0 || m.Confusion != nil {
		t.Fatalf("N %d, Invalid %d, Errors %d, confusion %v; want 4, 2, 0, nil", m.N, m.Invalid, c.Errors(), m.Confusion)
	}
	near(t, "MAE", m.MAE, 3.5/4)
	near(t, "RMSE", m.RMSE, math.Sqrt(5.25/4))
	near(t, "mean error", m.MeanError, 1.5/4)
	if !math.IsNaN(m.Accuracy) {
		t.Errorf("accuracy %v on a numeric label; want NaN", m.Accuracy)
	}
}

func TestMergeEqualsAddingAll(t *testing.T) {
	s := mustSpec(t, Spec{Kind: Binary, ScoreBins: 7})
	all, a, b := NewCounts(s), NewCounts(s), NewCounts(s)
	for i, f := range binaryFixture {
		o := s.Outcome(f.actual, math.NaN(), f.score)
		all.Add(o)
		if i%3 == 0 {
			a.Add(o)
		} else {
			b.Add(o)
		}
	}
	a.Merge(b)
	sameCounts(t, a, all)
	a.Reset()
	if a.N() != 0 || a.Metrics().Confusion[1][1] != 0 {
		t.Errorf("after Reset: N %d, TP %d; want 0", a.N(), a.Metrics().Confusion[1][1])
	}
	defer func() {
		if recover() == nil {
			t.Error("merging counts of another shape did not panic")
		}
	}()
	a.Merge(NewCounts(mustSpec(t, Spec{Kind: Binary, ScoreBins: 8})))
}

// sameCounts compares two Counts: integers exactly, sums to rounding.
func sameCounts(t *testing.T, got, want *Counts) {
	t.Helper()
	if got.n != want.n || got.invalid != want.invalid || !reflect.DeepEqual(got.confusion, want.confusion) ||
		!reflect.DeepEqual(got.pos, want.pos) || !reflect.DeepEqual(got.neg, want.neg) {
		t.Fatalf("counts differ:\n got %+v\nwant %+v", got, want)
	}
	for _, f := range [][2]float64{{got.logLoss, want.logLoss}, {got.sumAbs, want.sumAbs}, {got.sumSq, want.sumSq}, {got.sumErr, want.sumErr}} {
		if math.Abs(f[0]-f[1]) > 1e-9*max(1, math.Abs(f[1])) {
			t.Fatalf("sums differ:\n got %+v\nwant %+v", got, want)
		}
	}
}
