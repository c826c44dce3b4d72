package prometheus

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const groundTruthTestFile = "tests/ground-truth.test.yml"

// scipyAUCScript prints, for each case {pos, neg} of counts per bin, the
// Mann–Whitney U of the positives' bin indexes against the negatives',
// divided by P·N: the exact AUC of the binned scores, ties counting half.
const scipyAUCScript = `
import json, sys
from scipy.stats import mannwhitneyu
out = []
for c in json.load(open(sys.argv[1])):
    pos = [i for i, k in enumerate(c["pos"]) for _ in range(int(k))]
    neg = [i for i, k in enumerate(c["neg"]) for _ in range(int(k))]
    u = mannwhitneyu(pos, neg, alternative="two-sided").statistic
    out.append(float(u) / (len(pos) * len(neg)))
print(json.dumps(out))
`

func scipyPython(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import scipy").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("scipy unavailable in CI: %v (apt-get install -y python3-scipy)", err)
		}
		t.Skipf("scipy unavailable: %v", err)
	}
	return py
}

// TestBinnedAUCAgainstScipy checks the AUC formula of the recording rules
// against scipy's Mann–Whitney U on the same binned scores, with the
// sidecar's 20 bins, empty bins and heavy ties included.
func TestBinnedAUCAgainstScipy(t *testing.T) {
	py := scipyPython(t)
	type aucCase struct {
		Pos []float64 `json:"pos"`
		Neg []float64 `json:"neg"`
	}
	rng := rand.New(rand.NewPCG(17, 5))
	var cases []aucCase
	for range 40 {
		bins := 2 + rng.IntN(19)
		c := aucCase{Pos: make([]float64, bins), Neg: make([]float64, bins)}
		shift := rng.Float64() * 3
		for i := range bins {
			if rng.IntN(4) > 0 { // a quarter of the bins stay empty
				c.Pos[i] = float64(rng.IntN(1 + int(float64(i)*shift)))
				c.Neg[i] = float64(rng.IntN(1 + int(float64(bins-i)*shift)))
			}
		}
		c.Pos[bins-1]++
		c.Neg[0]++
		cases = append(cases, c)
	}
	cases = append(cases,
		aucCase{Pos: []float64{0, 0, 5}, Neg: []float64{5, 0, 0}}, // separated: 1
		aucCase{Pos: []float64{5, 0, 0}, Neg: []float64{0, 0, 5}}, // reversed: 0
		aucCase{Pos: []float64{0, 7, 0}, Neg: []float64{0, 3, 0}}, // one bin: 0.5
	)
	dir := t.TempDir()
	in, script := filepath.Join(dir, "cases.json"), filepath.Join(dir, "auc.py")
	b, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte(scipyAUCScript), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, script, in).Output()
	if err != nil {
		t.Fatalf("scipy: %v", err)
	}
	var want []float64
	if err := json.Unmarshal(out, &want); err != nil || len(want) != len(cases) {
		t.Fatalf("scipy answered %q (%v); want %d values", out, err, len(cases))
	}
	for i, c := range cases {
		if got := BinnedAUC(c.Pos, c.Neg); math.Abs(got-want[i]) > 1e-12 {
			t.Errorf("case %d %v: BinnedAUC = %.17g; scipy %.17g", i, c, got, want[i])
		}
	}
	if got := BinnedAUC([]float64{1, 2}, []float64{0, 0}); !math.IsNaN(got) {
		t.Errorf("BinnedAUC without negatives = %v; want NaN", got)
	}
}

var (
	seriesRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}$`)
	labelRE  = regexp.MustCompile(`(\w+)="([^"]*)"`)
	stepRE   = regexp.MustCompile(`^0\+(\d+)x\d+$`)
)

// TestGroundTruthTestFileAUC recomputes, with BinnedAUC, the fleet AUC
// that the promtool test expects from its per-pod bin counts, so the hand
// computation in its comment, Go, scipy (above) and PromQL all agree.
func TestGroundTruthTestFileAUC(t *testing.T) {
	var tf unitTestFile
	data, err := os.ReadFile(groundTruthTestFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &tf); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, tg := range tf.Tests {
		// counts[arm][actual][le]: the fleet's per-minute step.
		counts := map[string]map[string]map[string]float64{}
		for _, s := range tg.InputSeries {
			m := seriesRE.FindStringSubmatch(s.Series)
			if m == nil || m[1] != "driftcar_prediction_score_bin_total" {
				continue
			}
			l := map[string]string{}
			for _, kv := range labelRE.FindAllStringSubmatch(m[2], -1) {
				l[kv[1]] = kv[2]
			}
			step := stepRE.FindStringSubmatch(s.Values)
			if step == nil {
				t.Fatalf("%s: values %q are not 0+Nx..", s.Series, s.Values)
			}
			v, _ := strconv.ParseFloat(step[1], 64)
			if counts[l["arm"]] == nil {
				counts[l["arm"]] = map[string]map[string]float64{"0": {}, "1": {}}
			}
			counts[l["arm"]][l["actual"]][strings.TrimSuffix(l["le"], ".0")] += v
		}
		for _, et := range tg.PromQLExprTests {
			if !strings.HasPrefix(et.Expr, "model_route_arm:driftcar_prediction_auc:") {
				continue
			}
			for _, es := range et.ExpSamples {
				arm := labelRE.FindAllStringSubmatch(es.Labels, -1)
				var name string
				for _, kv := range arm {
					if kv[1] == "arm" {
						name = kv[2]
					}
				}
				var pos, neg []float64
				for _, le := range []string{"0.25", "0.5", "0.75", "1"} {
					pos = append(pos, counts[name]["1"][le])
					neg = append(neg, counts[name]["0"][le])
				}
				if got := BinnedAUC(pos, neg); math.Abs(got-float64(es.Value)) > 1e-12 {
					t.Errorf("%s arm %s: promtool expects %v; BinnedAUC(%v, %v) = %v", et.Expr, name, es.Value, pos, neg, got)
				}
				checked++
			}
		}
	}
	if checked < 4 {
		t.Errorf("checked %d AUC expectations of %s; want the live and shadow arms over 1h and 5m", checked, groundTruthTestFile)
	}
}

// TestPerformanceGroupsAgree keeps the 5m fleet-performance group a copy
// of the 1h group with the window replaced.
func TestPerformanceGroupsAgree(t *testing.T) {
	var rf ruleFile
	readStrict(t, "rules/driftcar-recording.yml", &rf)
	groups := map[string][]rule{}
	for _, g := range rf.Groups {
		groups[g.Name] = g.Rules
	}
	long, short := groups["driftcar-fleet-performance-1h"], groups["driftcar-fleet-performance-5m"]
	if len(long) == 0 || len(long) != len(short) {
		t.Fatalf("groups driftcar-fleet-performance-1h and -5m have %d and %d rules; want the same, more than 0", len(long), len(short))
	}
	for i := range long {
		want := rule{Record: strings.ReplaceAll(long[i].Record, "1h", "5m"), Expr: strings.ReplaceAll(long[i].Expr, "1h", "5m")}
		if short[i].Record != want.Record || short[i].Expr != want.Expr {
			t.Errorf("5m rule %d is %s: %s; want %s: %s", i, short[i].Record, short[i].Expr, want.Record, want.Expr)
		}
	}
}
