package refbuild

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/driftcar/driftcar/sampler/sketch"
)

const titanic = "../../../shared/data/titanic_reference.csv"

const titanicConfig = `upstreams:
  live: { address: 127.0.0.1:8501 }
routes:
  - name: predict
    split: [{ upstream: live, weight: 1 }]
    sample: { fraction: 1 }
features:
  - { name: Age, type: numeric }
  - { name: Fare, type: numeric }
  - { name: Pclass, type: categorical }
  - { name: Sex, type: categorical }
  - { name: Embarked, type: categorical }
prediction: { type: categorical, name: Survived }
reference: { file: not-built-yet.json }
`

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBuildTitanicIsDeterministic(t *testing.T) {
	if _, err := os.Stat(titanic); err != nil {
		t.Skipf("shared test data not found: %v", err)
	}
	dir := t.TempDir()
	cfg := write(t, dir, "driftcar.yaml", titanicConfig)
	var outs [2][]byte
	for i := range outs {
		out := filepath.Join(dir, "ref"+string(rune('a'+i))+".json")
		var stdout, stderr bytes.Buffer
		if code := Run([]string{"--input", titanic, "--config", cfg, "--out", out}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		if !strings.HasPrefix(stdout.String(), "wrote "+out+": 891 rows, 5 features, hash sha256:") {
			t.Errorf("summary: got %q", stdout.String())
		}
		var err error
		if outs[i], err = os.ReadFile(out); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Error("two builds of the same input differ")
	}
	p, err := sketch.LoadProfile(outs[0])
	if err != nil {
		t.Fatalf("the written reference does not load: %v", err)
	}
	if sex := p.Feature("Sex"); sex == nil || len(sex.Categories) != 2 {
		t.Errorf("Sex categories: got %+v", sex)
	}
	if p.Prediction == nil || p.Prediction.Name != "Survived" {
		t.Errorf("prediction profile: got %+v", p.Prediction)
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := write(t, dir, "driftcar.yaml", titanicConfig)
	noFeatures := write(t, dir, "bare.yaml", "upstreams:\n  live: { address: 127.0.0.1:1 }\nroutes:\n  - name: r\n    split: [{ upstream: live, weight: 1 }]\n")
	csv := write(t, dir, "train.csv", "Age,Fare\n1,2\n")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"flags missing", []string{"--input", csv}, 2, "--input, --config and --out are required"},
		{"input missing", []string{"--input", filepath.Join(dir, "nope.csv"), "--config", cfg, "--out", filepath.Join(dir, "o.json")}, 1, "cannot open input"},
		{"column missing", []string{"--input", csv, "--config", cfg, "--out", filepath.Join(dir, "o.json")}, 1, `no column "Pclass"`},
		{"no features", []string{"--input", csv, "--config", noFeatures, "--out", filepath.Join(dir, "o.json")}, 1, "names no features"},
		{"bad format", []string{"--input", write(t, dir, "train.txt", "x"), "--config", cfg, "--out", filepath.Join(dir, "o.json")}, 1, "--format csv"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("got exit %d, stderr %q; want exit %d containing %q", code, stderr.String(), tc.code, tc.want)
			}
		})
	}
}

// TestBuildFromPredictionLog: a reference rebuilt from the file sink's
// records equals one built from the same rows as JSON Lines; failed
// records and, with --arm, other arms' records are left out.
func TestBuildFromPredictionLog(t *testing.T) {
	dir := t.TempDir()
	cfg := write(t, dir, "driftcar.yaml", titanicConfig)
	var rows, log strings.Builder
	sexes, ports := []string{"male", "female"}, []string{"S", "C", "Q"}
	row := func(i int) (features, prediction string) {
		return fmt.Sprintf(`{"Age":%d,"Fare":%g,"Pclass":%d,"Sex":%q,"Embarked":%q}`, 1+i%80, float64(i%50)*1.5, 1+i%3, sexes[i%2], ports[i%3]),
			fmt.Sprint(i % 2)
	}
	for i := 0; i < 600; i += 2 {
		f0, p0 := row(i)
		f1, p1 := row(i + 1)
		fmt.Fprintf(&rows, "%s\n%s\n", strings.Replace(f0, "}", `,"Survived":`+p0+"}", 1), strings.Replace(f1, "}", `,"Survived":`+p1+"}", 1))
		fmt.Fprintf(&log, `{"request_id":"r%d","time":"2026-12-07T12:00:00Z","model":"titanic","route":"predict","arm":"live","status":200,"latency_seconds":0.002,"features":[%s,%s],"prediction":[%s,%s]}`+"\n",
			i, f0, f1, p0, p1)
		// Left out: a failed request, and a canary's answer with --arm live.
		fmt.Fprintf(&log, `{"request_id":"e%d","arm":"live","status":502,"features":[{"Age":999}],"prediction":[]}`+"\n", i)
		fmt.Fprintf(&log, `{"request_id":"c%d","arm":"canary","status":200,"features":[{"Age":999,"Fare":1,"Pclass":1,"Sex":"x","Embarked":"Z"}],"prediction":[1]}`+"\n", i)
	}
	jsonl := write(t, dir, "rows.jsonl", rows.String())
	logFile := write(t, dir, "predictions.jsonl", log.String())
	build := func(args ...string) *sketch.Profile {
		t.Helper()
		out := filepath.Join(dir, fmt.Sprintf("ref%d.json", len(args)))
		var stdout, stderr bytes.Buffer
		if code := Run(append(args, "--config", cfg, "--out", out), &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		p, err := sketch.LoadProfile(raw)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	want := build("--input", jsonl)
	got := build("--input", logFile, "--format", "log", "--arm", "live")
	if got.Rows != 600 || want.Rows != 600 {
		t.Fatalf("rows: got %d from the log, %d from JSON Lines; want 600", got.Rows, want.Rows)
	}
	if !reflect.DeepEqual(got.Features, want.Features) || !reflect.DeepEqual(got.Prediction, want.Prediction) {
		t.Errorf("the log's reference differs from the rows'\nlog:  %+v\nrows: %+v", got.Features, want.Features)
	}
	var stderr bytes.Buffer
	if code := Run([]string{"--input", jsonl, "--arm", "live", "--config", cfg, "--out", filepath.Join(dir, "x.json")}, &bytes.Buffer{}, &stderr); code != 1 || !strings.Contains(stderr.String(), "--format log") {
		t.Errorf("--arm without --format log: got exit %d, %q", code, stderr.String())
	}
}
