package sketch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/driftcar/driftcar/internal/payload"
)

var xFeature = []payload.FeatureSpec{{Name: "x", Type: payload.Numeric}}

func buildWithLabel(t *testing.T, data string, format InputFormat, pred *payload.PredictionSpec, label *LabelSpec) *Profile {
	t.Helper()
	p, err := BuildReference(strings.NewReader(data), format, xFeature, BuildOptions{Bins: 4, Prediction: pred, Label: label})
	if err != nil {
		t.Fatalf("BuildReference: %v", err)
	}
	return p
}

// TestPerformanceBinaryCSV: a score thresholded at 0.5 (>= is class 1)
// against 0/1 and true/false labels; rows with a missing or invalid
// label or prediction are skipped.
func TestPerformanceBinaryCSV(t *testing.T) {
	const data = "x,score,y\n" +
		"1,0.9,1\n" + // right
		"2,0.2,0\n" + // right
		"3,0.6,0\n" + // wrong
		"4,0.4,1\n" + // wrong
		"5,0.5,1\n" + // right: at the threshold
		"6,0.1,false\n" + // right
		"7,0.8,true\n" + // right
		"8,NA,1\n" + // skipped: no prediction
		"9,0.7,\n" + // skipped: no label
		"10,0.3,2\n" + // skipped: not a binary label
		"11,abc,1\n" // skipped: not a score
	p := buildWithLabel(t, data, CSV, &payload.PredictionSpec{Name: "score", Type: payload.Numeric}, &LabelSpec{Column: "y", Type: LabelBinary})
	got := p.Performance
	want := PerformanceProfile{Type: LabelBinary, Rows: 7, Skipped: 4, Errors: 2, Threshold: 0.5}
	if got == nil || !perfEqual(*got, want) {
		t.Fatalf("performance: got %+v; want %+v", got, want)
	}
	if acc := got.Accuracy(); acc != 5.0/7 {
		t.Errorf("accuracy: got %v; want 5/7", acc)
	}
	// A higher threshold moves rows 3 (0.6) and 5 (0.5) to class 0.
	p = buildWithLabel(t, data, CSV, &payload.PredictionSpec{Name: "score", Type: payload.Numeric}, &LabelSpec{Column: "y", Type: LabelBinary, Threshold: 0.65})
	if got := p.Performance; got.Errors != 2 || got.Rows != 7 || got.Threshold != 0.65 {
		t.Errorf("threshold 0.65: got %+v; want 2 errors in 7 rows", got)
	}
}

func TestPerformanceCategoricalCSV(t *testing.T) {
	const data = "x,pred,y\n" +
		"1,cat,cat\n" +
		"2,dog,cat\n" +
		"3,dog,dog\n" +
		"4,bird,dog\n" + // a prediction outside the classes is wrong
		"5,cat,fish\n" + // a label outside the classes is skipped
		"6,cat,NA\n"
	pred := &payload.PredictionSpec{Name: "pred", Type: payload.Categorical}
	p := buildWithLabel(t, data, CSV, pred, &LabelSpec{Column: "y", Type: LabelCategorical, Classes: []string{"cat", "dog"}})
	want := PerformanceProfile{Type: LabelCategorical, Rows: 4, Skipped: 2, Errors: 2, Classes: []string{"cat", "dog"}}
	if got := p.Performance; !perfEqual(*got, want) {
		t.Errorf("with classes: got %+v; want %+v", got, want)
	}
	// Without classes, any label counts and the classes are the
	// prediction profile's categories.
	p = buildWithLabel(t, data, CSV, pred, &LabelSpec{Column: "y", Type: LabelCategorical})
	want = PerformanceProfile{Type: LabelCategorical, Rows: 5, Skipped: 1, Errors: 3, Classes: []string{"cat", "dog", "bird"}}
	if got := p.Performance; !perfEqual(*got, want) {
		t.Errorf("without classes: got %+v; want %+v", got, want)
	}
}

func TestPerformanceNumericJSONL(t *testing.T) {
	const data = `{"x":1,"pred":3,"y":2}
{"x":2,"pred":1,"y":3}
{"x":3,"pred":5.5,"y":"5"}
{"x":4,"pred":4,"y":4}
{"x":5,"pred":null,"y":4}
{"x":6,"pred":2}
{"x":7,"pred":2,"y":"NA"}
{"x":8,"pred":2,"y":[1]}
`
	p := buildWithLabel(t, data, JSONL, &payload.PredictionSpec{Name: "pred", Type: payload.Numeric}, &LabelSpec{Column: "y", Type: LabelNumeric})
	got := p.Performance
	// Errors 1, -2, 0.5, 0: every sum is exact in binary.
	want := PerformanceProfile{Type: LabelNumeric, Rows: 4, Skipped: 4, MAE: 0.875, RMSE: math.Sqrt(1.3125), MeanError: -0.125}
	if got == nil || got.Type != want.Type || got.Rows != want.Rows || got.Skipped != want.Skipped ||
		got.MAE != want.MAE || got.RMSE != want.RMSE || got.MeanError != want.MeanError {
		t.Fatalf("performance: got %+v; want %+v", got, want)
	}
	if !math.IsNaN(got.Accuracy()) {
		t.Errorf("numeric accuracy: got %v; want NaN", got.Accuracy())
	}
	var sum uint64
	for _, c := range got.AbsErrorCounts {
		sum += c
	}
	if len(got.AbsErrorCounts) != len(got.AbsErrorEdges)+1 || sum != 4 {
		t.Errorf("abs error cells: edges %v counts %v; want counts summing to 4", got.AbsErrorEdges, got.AbsErrorCounts)
	}
}

// TestPerformanceAbsErrorCellsAreFeatureCells: the |error| cells are the
// cells the numeric builder gives a feature holding the same values, in
// exact and in sketch mode (with its second pass).
func TestPerformanceAbsErrorCellsAreFeatureCells(t *testing.T) {
	rng := newRand(7)
	var withLabel, withAbs strings.Builder
	withLabel.WriteString("x,pred,y\n")
	withAbs.WriteString("x,ae\n")
	for i := range 20000 {
		y := math.Round(rng.NormFloat64()*100) / 8
		pred := y + math.Round(rng.NormFloat64()*40)/16
		if i%50 == 0 {
			pred = y // a point mass at 0
		}
		fmt.Fprintf(&withLabel, "%d,%s,%s\n", i, fmtFloat(pred), fmtFloat(y))
		fmt.Fprintf(&withAbs, "%d,%s\n", i, fmtFloat(math.Abs(pred-y)))
	}
	for _, budget := range []int64{0, 8 << 10} { // default (exact), and sketch mode
		opts := BuildOptions{Bins: 10, ExactBudget: budget}
		lo := opts
		lo.Prediction, lo.Label = &payload.PredictionSpec{Name: "pred", Type: payload.Numeric}, &LabelSpec{Column: "y", Type: LabelNumeric}
		p, err := BuildReference(strings.NewReader(withLabel.String()), CSV, xFeature, lo)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := BuildReference(strings.NewReader(withAbs.String()), CSV, []payload.FeatureSpec{{Name: "ae", Type: payload.Numeric}}, opts)
		if err != nil {
			t.Fatal(err)
		}
		ae := ref.Feature("ae")
		if budget > 0 && ae.Method != "sketch" {
			t.Fatalf("budget %d: feature method %s; want sketch", budget, ae.Method)
		}
		got := p.Performance
		if !slices.Equal(got.AbsErrorEdges, ae.Edges) || !slices.Equal(got.AbsErrorCounts, ae.Counts) {
			t.Errorf("budget %d: |error| cells %v %v; feature cells %v %v", budget, got.AbsErrorEdges, got.AbsErrorCounts, ae.Edges, ae.Counts)
		}
		if got.Rows != 20000 || math.Abs(got.MAE-ae.Mean) > 1e-9 {
			t.Errorf("budget %d: rows %d MAE %v; want 20000 and the mean |error| %v", budget, got.Rows, got.MAE, ae.Mean)
		}
	}
}

func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// TestPerformanceMatchesNumpy checks accuracy, MAE, RMSE and mean error
// of random data against numpy on the same file.
func TestPerformanceMatchesNumpy(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import numpy").Run(); err != nil {
		t.Skipf("%s with numpy not available: %v", python, err)
	}
	rng := newRand(11)
	var b strings.Builder
	b.WriteString("x,score,cls,value,y,target\n")
	for i := range 5000 {
		score := rng.Float64()
		y := 0
		if rng.Float64() < score*0.8+0.1 {
			y = 1
		}
		target := rng.NormFloat64() * 3
		fmt.Fprintf(&b, "%d,%s,%d,%s,%d,%s\n", i, fmtFloat(score), y^int(rng.IntN(5)/4), fmtFloat(target+rng.NormFloat64()), y, fmtFloat(target))
	}
	data := b.String()
	bin := buildWithLabel(t, data, CSV, &payload.PredictionSpec{Name: "score", Type: payload.Numeric}, &LabelSpec{Column: "y", Type: LabelBinary, Threshold: 0.4})
	cat := buildWithLabel(t, data, CSV, &payload.PredictionSpec{Name: "cls", Type: payload.Categorical}, &LabelSpec{Column: "y", Type: LabelCategorical})
	num := buildWithLabel(t, data, CSV, &payload.PredictionSpec{Name: "value", Type: payload.Numeric}, &LabelSpec{Column: "target", Type: LabelNumeric})

	const script = `
import sys, json, numpy as np
d = np.genfromtxt(sys.stdin, delimiter=",", names=True)
e = d["value"] - d["target"]
print(json.dumps({
  "binary_acc": float(np.mean((d["score"] >= 0.4) == (d["y"] == 1))),
  "cat_acc": float(np.mean(d["cls"] == d["y"])),
  "mae": float(np.mean(np.abs(e))), "rmse": float(np.sqrt(np.mean(e**2))), "mean_error": float(np.mean(e)),
}))`
	cmd := exec.Command(python, "-c", script)
	cmd.Stdin = strings.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("numpy: %v\n%s", err, stderr.String())
	}
	var np struct {
		BinaryAcc float64 `json:"binary_acc"`
		CatAcc    float64 `json:"cat_acc"`
		MAE       float64 `json:"mae"`
		RMSE      float64 `json:"rmse"`
		MeanError float64 `json:"mean_error"`
	}
	if err := json.Unmarshal(out, &np); err != nil {
		t.Fatal(err)
	}
	// Accuracy is a ratio of counts: exact. The means differ only by
	// summation order.
	if got := bin.Performance.Accuracy(); got != np.BinaryAcc {
		t.Errorf("binary accuracy: got %v; numpy %v", got, np.BinaryAcc)
	}
	if got := cat.Performance.Accuracy(); got != np.CatAcc {
		t.Errorf("categorical accuracy: got %v; numpy %v", got, np.CatAcc)
	}
	n := num.Performance
	for _, m := range []struct {
		name      string
		got, want float64
	}{{"mae", n.MAE, np.MAE}, {"rmse", n.RMSE, np.RMSE}, {"mean_error", n.MeanError, np.MeanError}} {
		if math.Abs(m.got-m.want) > 1e-12*math.Max(1, math.Abs(m.want)) {
			t.Errorf("%s: got %v; numpy %v", m.name, m.got, m.want)
		}
	}
}

func TestPerformanceMissingLabelColumn(t *testing.T) {
	pred := &payload.PredictionSpec{Name: "pred", Type: payload.Numeric}
	label := &LabelSpec{Column: "outcome", Type: LabelNumeric}
	tests := []struct {
		name, data string
		format     InputFormat
		want       string
	}{
		{"csv", "x,pred,y\n1,2,3\n", CSV, `cannot build reference: csv: no label column "outcome" in the header`},
		{"jsonl", `{"x":1,"pred":2,"y":3}` + "\n", JSONL, `cannot build reference: jsonl: no row has the label field "outcome"`},
		{"log", "", PredictionLog, "cannot build reference: the prediction log has no label column"},
		{"no labelled row", "x,pred,outcome\n1,2,NA\n", CSV, `cannot build reference: label column "outcome": no row has both a valid label and a valid prediction (1 skipped)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BuildReference(strings.NewReader(tc.data), tc.format, xFeature, BuildOptions{Prediction: pred, Label: label})
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v; want %q", err, tc.want)
			}
		})
	}
}

func TestPerformanceBadSpec(t *testing.T) {
	num := &payload.PredictionSpec{Name: "pred", Type: payload.Numeric}
	tests := []struct {
		name  string
		pred  *payload.PredictionSpec
		label LabelSpec
		want  string
	}{
		{"no prediction", nil, LabelSpec{Column: "y", Type: LabelBinary}, "cannot build reference: label: needs the prediction column to compare with"},
		{"label is a feature", num, LabelSpec{Column: "x", Type: LabelBinary}, `cannot build reference: label: column "x" is also a feature or the prediction`},
		{"unknown type", num, LabelSpec{Column: "y", Type: "ordinal"}, `cannot build reference: label: type "ordinal", want binary, categorical or numeric`},
		{"categorical on a score", num, LabelSpec{Column: "y", Type: LabelCategorical}, "cannot build reference: label: a categorical label needs a categorical prediction"},
		{"threshold", num, LabelSpec{Column: "y", Type: LabelBinary, Threshold: 1.5}, "cannot build reference: label: threshold 1.5, want in (0, 1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BuildReference(strings.NewReader("x,pred,y\n1,1,1\n"), CSV, xFeature, BuildOptions{Prediction: tc.pred, Label: &tc.label})
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v; want %q", err, tc.want)
			}
		})
	}
	if _, err := NewLearner(xFeature, 100, BuildOptions{Label: &LabelSpec{Column: "y", Type: LabelBinary}}); err == nil {
		t.Error("NewLearner with a label: got nil error")
	}
}

func perfEqual(a, b PerformanceProfile) bool {
	return a.Type == b.Type && a.Rows == b.Rows && a.Skipped == b.Skipped && a.Errors == b.Errors &&
		a.Threshold == b.Threshold && slices.Equal(a.Classes, b.Classes)
}
