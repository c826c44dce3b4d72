package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

// Pods of the ground-truth gate tests in namespace models: two canary pods
// (Flagger names them credit-risk-HASH-ID, Argo Rollouts labels them with the
// latest hash 5d8f9) and one primary, or stable, pod (credit-risk-primary-...,
// hash 7c6b5).
const (
	canaryPodA = `namespace="models", model="credit-risk", route="predict", pod="credit-risk-5d8f9-abcde", rollouts_pod_template_hash="5d8f9"`
	canaryPodB = `namespace="models", model="credit-risk", route="predict", pod="credit-risk-5d8f9-fghij", rollouts_pod_template_hash="5d8f9"`
	primaryPod = `namespace="models", model="credit-risk", route="predict", pod="credit-risk-primary-7c6b5-klmno", rollouts_pod_template_hash="7c6b5"`
)

// groundTruthGateSeries: labelled outcomes a minute as (actual, predicted)
// of the pods' own model (arm live):
//
//	canary a: (0,0) 10, (1,1) 10 → 20 of 20
//	canary b: (0,0) 5, (1,1) 5, (0,1) 6, (1,0) 4 → 10 of 20
//	canary fleet: 30 of 40 = 0.75; primary: (0,0) 9, (1,1) 9, (1,0) 2 → 0.9
//
// so canary − primary accuracy is −0.15. The canary pods' shadow arm is
// always wrong and must not count. Verdicts: the canary pods' challenger
// (shadow) is better_by_margin on pod b only; the primary pod's is too,
// which must not count either.
var groundTruthGateSeries = []struct{ labels, values string }{
	{canaryPodA + `, arm="live", actual="0", predicted="0"`, "0+10x30"},
	{canaryPodA + `, arm="live", actual="1", predicted="1"`, "0+10x30"},
	{canaryPodA + `, arm="shadow", actual="1", predicted="0"`, "0+50x30"},
	{canaryPodB + `, arm="live", actual="0", predicted="0"`, "0+5x30"},
	{canaryPodB + `, arm="live", actual="1", predicted="1"`, "0+5x30"},
	{canaryPodB + `, arm="live", actual="0", predicted="1"`, "0+6x30"},
	{canaryPodB + `, arm="live", actual="1", predicted="0"`, "0+4x30"},
	{primaryPod + `, arm="live", actual="0", predicted="0"`, "0+9x30"},
	{primaryPod + `, arm="live", actual="1", predicted="1"`, "0+9x30"},
	{primaryPod + `, arm="live", actual="1", predicted="0"`, "0+2x30"},
}

var groundTruthVerdictSeries = []struct{ labels, values string }{
	{canaryPodA + `, arm="shadow", verdict="better_by_margin"`, "0+0x30"},
	{canaryPodA + `, arm="shadow", verdict="not_better"`, "1+0x30"},
	{canaryPodB + `, arm="shadow", verdict="better_by_margin"`, "0+0x15 1+0x14"},
	{canaryPodB + `, arm="shadow", verdict="not_better"`, "1+0x15 0+0x14"},
	{primaryPod + `, arm="shadow", verdict="better_by_margin"`, "1+0x30"},
}

// evalGroundTruthGates evaluates a filled verdict query and a filled
// accuracy query with promtool on the pods above: the verdict is 0 before
// pod b's challenger turns better_by_margin at 15m and 1 after; the
// accuracy difference is −0.15.
func evalGroundTruthGates(t *testing.T, verdictQuery, accuracyQuery string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool not found (apt-get install prometheus): %v", err)
		}
		t.Skipf("promtool not found: %v", err)
	}
	if verdictQuery == "" || accuracyQuery == "" {
		t.Fatalf("verdict query %q, accuracy query %q: both are required", verdictQuery, accuracyQuery)
	}
	type sample struct {
		Labels string  `json:"labels"`
		Value  float64 `json:"value"`
	}
	type exprTest struct {
		Expr       string   `json:"expr"`
		EvalTime   string   `json:"eval_time"`
		ExpSamples []sample `json:"exp_samples"`
	}
	var input []map[string]string
	for _, s := range groundTruthGateSeries {
		input = append(input, map[string]string{"series": "driftcar_prediction_outcomes_total{" + s.labels + "}", "values": s.values})
	}
	for _, s := range groundTruthVerdictSeries {
		input = append(input, map[string]string{"series": "driftcar_challenger_verdict{" + s.labels + "}", "values": s.values})
	}
	file := map[string]any{
		"rule_files":          []string{},
		"evaluation_interval": "1m",
		"tests": []any{map[string]any{
			"interval":     "1m",
			"input_series": input,
			"promql_expr_test": []exprTest{
				{verdictQuery, "10m", []sample{{"{}", 0}}},
				{verdictQuery, "20m", []sample{{"{}", 1}}},
				// 0.75 − 0.9 is −0.15000000000000002 in float64.
				{"round(" + accuracyQuery + ", 0.000001)", "25m", []sample{{"{}", -0.15}}},
			},
		}},
	}
	data, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gates.test.yml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "test", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules on the ground-truth gates: %v\n%s", err, out)
	}
}
