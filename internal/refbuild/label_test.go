package refbuild

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/driftcar/driftcar/sampler/sketch"
)

const labelledConfig = `upstreams:
  live: { address: 127.0.0.1:8501 }
routes:
  - name: predict
    split: [{ upstream: live, weight: 1 }]
    sample: { fraction: 1 }
features:
  - { name: age, type: numeric }
prediction: { type: %s, name: %s }
reference: { file: not-built-yet.json }
ground_truth:
  label: { type: %s, column: outcome }
`

func labelConfig(t *testing.T, dir, predType, predName, labelType string) string {
	t.Helper()
	r := strings.NewReplacer("type: %s, name: %s", "type: "+predType+", name: "+predName, "label: { type: %s", "label: { type: "+labelType)
	return write(t, dir, "driftcar.yaml", r.Replace(labelledConfig))
}

// runBuild runs the command and returns its summary line and profile.
func runBuild(t *testing.T, args ...string) (string, *sketch.Profile) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "ref.json")
	var stdout, stderr bytes.Buffer
	if code := Run(append(args, "--out", out), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	p, err := sketch.LoadProfileFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), p
}

// TestBuildPerformanceCSV: 8 labelled rows with 2 wrong scores at the
// default threshold 0.5, and 2 rows skipped (no label, no score).
func TestBuildPerformanceCSV(t *testing.T) {
	dir := t.TempDir()
	cfg := labelConfig(t, dir, "numeric", "score", "binary")
	csv := write(t, dir, "train.csv", "age,score,outcome\n"+
		"30,0.9,1\n41,0.1,0\n25,0.7,0\n33,0.2,1\n50,0.6,1\n62,0.4,0\n19,0.95,1\n44,0.05,0\n"+
		"27,0.8,NA\n38,,1\n")
	summary, p := runBuild(t, "--input", csv, "--config", cfg)
	perf := p.Performance
	if perf == nil || perf.Type != "binary" || perf.Rows != 8 || perf.Errors != 2 || perf.Skipped != 2 || perf.Threshold != 0.5 {
		t.Fatalf("performance: got %+v; want binary, 2 errors in 8 rows, 2 skipped, threshold 0.5", perf)
	}
	if perf.Accuracy() != 0.75 {
		t.Errorf("accuracy: got %v; want 0.75", perf.Accuracy())
	}
	want := regexp.MustCompile(`^wrote .*ref\.json: 10 rows, 1 features, performance on 8 labelled rows \(2 skipped\): accuracy 0\.7500, hash sha256:[0-9a-f]{64} \(`)
	if !want.MatchString(summary) {
		t.Errorf("summary: got %q; want it to match %s", summary, want)
	}
}

// TestBuildPerformanceJSONL: errors 0.5, -1, 2 and 0 give MAE 0.875,
// RMSE sqrt(1.3125) and mean error 0.375.
func TestBuildPerformanceJSONL(t *testing.T) {
	dir := t.TempDir()
	cfg := labelConfig(t, dir, "numeric", "price", "numeric")
	jsonl := write(t, dir, "train.jsonl", `{"age":30,"price":10.5,"outcome":10}
{"age":31,"price":9,"outcome":10}
{"age":32,"price":14,"outcome":12}
{"age":33,"price":7,"outcome":7}
{"age":34,"price":7}
`)
	summary, p := runBuild(t, "--input", jsonl, "--config", cfg)
	perf := p.Performance
	if perf == nil || perf.Rows != 4 || perf.Skipped != 1 || perf.MAE != 0.875 || perf.RMSE != math.Sqrt(1.3125) || perf.MeanError != 0.375 {
		t.Fatalf("performance: got %+v; want 4 rows, 1 skipped, MAE 0.875, RMSE %v, mean error 0.375", perf, math.Sqrt(1.3125))
	}
	if !strings.Contains(summary, ", performance on 4 labelled rows (1 skipped): MAE 0.875, RMSE 1.146, hash ") {
		t.Errorf("summary: got %q", summary)
	}
}

func TestBuildPerformanceErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := labelConfig(t, dir, "categorical", "species", "categorical")
	cases := []struct{ name, file, content, want string }{
		{"csv without the label column", "train.csv", "age,species\n3,cat\n", `cannot build reference: csv: no label column "outcome" in the header`},
		{"jsonl without the label field", "train.jsonl", `{"age":3,"species":"cat"}` + "\n", `cannot build reference: jsonl: no row has the label field "outcome"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := write(t, dir, tc.file, tc.content)
			var stdout, stderr bytes.Buffer
			code := Run([]string{"--input", in, "--config", cfg, "--out", filepath.Join(dir, "o.json")}, &stdout, &stderr)
			if code != 1 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("got exit %d, stderr %q; want exit 1 containing %q", code, stderr.String(), tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "o.json")); err == nil {
				t.Error("a failed build wrote its output")
			}
		})
	}
}

// TestBuildPerformanceNotFromLog: the prediction log has no labels, so a
// reference rebuilt from it has no performance, and the summary says so.
func TestBuildPerformanceNotFromLog(t *testing.T) {
	dir := t.TempDir()
	cfg := labelConfig(t, dir, "categorical", "species", "categorical")
	log := write(t, dir, "predictions.jsonl", `{"request_id":"r1","arm":"live","status":200,"features":[{"age":3}],"prediction":["cat"]}`+"\n")
	summary, p := runBuild(t, "--input", log, "--format", "log", "--config", cfg)
	if p.Performance != nil {
		t.Errorf("performance: got %+v; want none", p.Performance)
	}
	if !strings.Contains(summary, "1 features, no performance (the prediction log has no label column), hash ") {
		t.Errorf("summary: got %q", summary)
	}
}
