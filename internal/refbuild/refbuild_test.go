package refbuild

import (
	"bytes"
	"os"
	"path/filepath"
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
