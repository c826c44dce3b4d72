package sidecar

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// samplingConfig monitors two numeric and one categorical feature and the
// prediction, with the reference section given.
func samplingConfig(live, reference string) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
model: credit-risk
upstreams:
  live: { address: %s }
routes:
  - name: predict
    split: [{ upstream: live, weight: 1 }]
    sample: { fraction: 1, queue: 64 }
features:
  - { name: age, type: numeric }
  - { name: income, type: numeric }
  - { name: country, type: categorical }
prediction: { type: numeric }
reference: %s
`, live, reference)
}

// writeReference builds a reference of 1000 rows: age 20..69, income
// 1000..50950, country DE/FR/US, prediction 0..0.999.
func writeReference(t *testing.T, path string) *sketch.Profile {
	t.Helper()
	var csv strings.Builder
	csv.WriteString("age,income,country,prediction\n")
	countries := []string{"DE", "FR", "US"}
	for i := range 1000 {
		fmt.Fprintf(&csv, "%d,%d,%s,%g\n", 20+i%50, 1000+i*50, countries[i%3], float64(i)/1000)
	}
	specs := []payload.FeatureSpec{
		{Name: "age", Type: payload.Numeric},
		{Name: "income", Type: payload.Numeric},
		{Name: "country", Type: payload.Categorical},
	}
	p, err := sketch.BuildReference(strings.NewReader(csv.String()), sketch.CSV, specs, sketch.BuildOptions{
		Prediction: &payload.PredictionSpec{Type: payload.Numeric},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return p
}

func postInstances(t *testing.T, addr string, n int, country string) {
	t.Helper()
	var rows []string
	for i := range n {
		rows = append(rows, fmt.Sprintf(`{"age":%d,"income":%d,"country":%q}`, 20+i%50, 1000+i*50, country))
	}
	body := `{"instances":[` + strings.Join(rows, ",") + `]}`
	resp, err := http.Post("http://"+addr+"/v1/models/m:predict", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestSamplingEndToEnd(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.25,0.75]}`))
	ref := filepath.Join(t.TempDir(), "reference.json")
	p := writeReference(t, ref)
	r := start(t, samplingConfig(live, "{ file: "+ref+" }"))
	for range 10 {
		postInstances(t, r.s.ProxyAddr(), 2, "NL")
	}
	admin := "http://" + r.s.AdminAddr()
	testutil.Eventually(t, 10*time.Second, "20 rows are sampled", func() bool {
		_, body, _ := get(t, admin+"/metrics")
		return strings.Contains(body, `driftcar_sampler_rows_total{model="credit-risk",route="predict"} 20`)
	})
	_, metrics, _ := get(t, admin+"/metrics")
	age := p.Feature("age")
	if age.Edges[0] < 21 {
		t.Fatalf("age edges %v: the test needs the first edge >= 21", age.Edges)
	}
	for _, want := range []string{
		fmt.Sprintf(`driftcar_feature_value_bucket{feature="age",model="credit-risk",route="predict",le="%g"} 20`, age.Edges[0]),
		`driftcar_feature_value_bucket{feature="age",model="credit-risk",route="predict",le="+Inf"} 20`,
		`driftcar_feature_value_count{feature="age",model="credit-risk",route="predict"} 20`,
		`driftcar_feature_value_sum{feature="age",model="credit-risk",route="predict"} 410`,
		`driftcar_feature_category_total{category="__unseen__",feature="country",model="credit-risk",route="predict"} 20`,
		`driftcar_feature_category_total{category="DE",feature="country",model="credit-risk",route="predict"} 0`,
		`driftcar_feature_value_count{feature="__prediction__",model="credit-risk",route="predict"} 20`,
		`driftcar_sampler_dropped_total{model="credit-risk",reason="queue_full",route="predict"} 0`,
		`driftcar_sampler_invalid_total{model="credit-risk",reason="malformed_json",route="predict"} 0`,
		`driftcar_reference_info{hash="` + p.Hash + `",model="credit-risk",source="csv"} 1`,
		fmt.Sprintf(`driftcar_feature_reference_value_bucket{feature="age",model="credit-risk",le="%g"} %d`, age.Edges[0], age.Counts[0]),
		fmt.Sprintf(`driftcar_feature_reference_value_count{feature="age",model="credit-risk"} %d`, age.Count),
		fmt.Sprintf(`driftcar_feature_bin_total{bin="%g",feature="age",model="credit-risk",route="predict"} 20`, age.Edges[0]),
		fmt.Sprintf(`driftcar_feature_bin_total{bin="%g",feature="age",model="credit-risk",route="predict"} 0`, age.Edges[1]),
		fmt.Sprintf(`driftcar_feature_reference_bin_ratio{bin="%g",feature="age",model="credit-risk"} %g`, age.Edges[0], age.Proportions[0]),
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	checkPromtool(t, metrics)

	_, body, _ := get(t, admin+"/api/features")
	var views []struct {
		Route    string
		Rows     uint64
		Features []struct {
			Name      string
			Cells     []string
			Reference []float64
			Windows   []struct {
				Slices int
				N      uint64
				Counts []uint64
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &views); err != nil {
		t.Fatalf("/api/features: %v\n%s", err, body)
	}
	if len(views) != 1 || views[0].Rows != 20 || len(views[0].Features) != 4 {
		t.Fatalf("/api/features: got %s", body)
	}
	country := views[0].Features[2]
	if country.Name != "country" || country.Windows[0].N != 20 || len(country.Cells) != len(country.Reference) {
		t.Errorf("country view: got %+v", country)
	}
	_, refBody, _ := get(t, admin+"/api/reference")
	if !strings.Contains(refBody, p.Hash) {
		t.Errorf("/api/reference does not show hash %s", p.Hash)
	}
}

func TestSamplingLearnsAndReusesReference(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]}`))
	ref := filepath.Join(t.TempDir(), "learned.json")
	yaml := samplingConfig(live, "{ file: "+ref+", learn: { samples: 100 } }")
	r := start(t, yaml)
	admin := "http://" + r.s.AdminAddr()
	if _, body, _ := get(t, admin+"/api/reference"); !strings.Contains(body, `"learning": true`) {
		t.Fatalf("before learning, /api/reference: %s", body)
	}
	for range 12 {
		postInstances(t, r.s.ProxyAddr(), 10, "DE")
	}
	testutil.Eventually(t, 10*time.Second, "the learned reference is written", func() bool {
		_, err := os.Stat(ref)
		return err == nil
	})
	learned, err := sketch.LoadProfileFile(ref)
	if err != nil {
		t.Fatalf("learned reference: %v", err)
	}
	if learned.Rows != 100 {
		t.Errorf("learned rows: got %d; want 100", learned.Rows)
	}
	testutil.Eventually(t, 10*time.Second, "sampling switches to the learned reference", func() bool {
		_, body, _ := get(t, admin+"/metrics")
		return strings.Contains(body, `driftcar_reference_info{hash="`+learned.Hash+`"`)
	})

	// A second sidecar on the same config reuses the file instead of learning.
	again := start(t, yaml)
	_, body, _ := get(t, "http://"+again.s.AdminAddr()+"/api/reference")
	if !strings.Contains(body, learned.Hash) {
		t.Errorf("restarted sidecar does not reuse the learned reference: %s", body)
	}
}

func TestBadReferenceIsAStartupError(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	testutil.WriteFile(t, corrupt, `{"format":"driftcar-reference","version":1,"features":[{"name":"age"`)
	cases := []struct{ name, ref, want string }{
		{"missing", filepath.Join(dir, "absent.json"), "no such file"},
		{"corrupt", corrupt, "corrupt.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "driftcar.yaml")
			testutil.WriteFile(t, path, samplingConfig("127.0.0.1:1", "{ file: "+tc.ref+" }"))
			_, err := New(Options{ConfigPath: path})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "reference") {
				t.Errorf("New: got %v; want an error about the reference naming %q", err, tc.want)
			}
		})
	}
}

// Before the fix, a func field in the plan made its JSON empty, so a
// reload that changed the features kept the old sampling set.
func TestReloadRebuildsSamplingWhenFeaturesChange(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.5]}`))
	ref := filepath.Join(t.TempDir(), "reference.json")
	writeReference(t, ref)
	yaml := samplingConfig(live, "{ file: "+ref+" }")
	r := start(t, yaml)
	admin := "http://" + r.s.AdminAddr()
	rowsAre := func(n int) func() bool {
		want := fmt.Sprintf(`driftcar_sampler_rows_total{model="credit-risk",route="predict"} %d`+"\n", n)
		return func() bool {
			_, body, _ := get(t, admin+"/metrics")
			return strings.Contains(body, want)
		}
	}
	postInstances(t, r.s.ProxyAddr(), 10, "DE")
	testutil.Eventually(t, 10*time.Second, "10 rows are sampled", rowsAre(10))

	before := r.s.features.Current()
	testutil.WriteFile(t, r.path, strings.Replace(yaml, "  - { name: income, type: numeric }\n", "", 1))
	if err := r.s.Reload(); err != nil {
		t.Fatal(err)
	}
	after := r.s.features.Current()
	if after == before {
		t.Fatal("the sampling set was kept although the features changed")
	}
	if n := after.Tap("predict").State().NumFeatures(); n != 2 {
		t.Errorf("features after the reload: got %d; want 2", n)
	}
	// The counters carry on from the replaced set's.
	if !rowsAre(10)() {
		t.Error("driftcar_sampler_rows_total is not 10 right after the reload")
	}
	postInstances(t, r.s.ProxyAddr(), 5, "DE")
	testutil.Eventually(t, 10*time.Second, "15 rows counted after the reload", rowsAre(15))
}

// TestReferenceReplacedAtRuntime: a reload picks up a new reference file
// even when the config did not change; a corrupt one is refused and the
// last good reference keeps serving.
func TestReferenceReplacedAtRuntime(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.5]}`))
	dir := t.TempDir()
	ref := filepath.Join(dir, "reference.json")
	first := writeReference(t, ref)
	r := start(t, samplingConfig(live, "{ file: "+ref+" }"))
	hash := func() string { return r.s.features.Current().Profile().Hash }
	if hash() != first.Hash {
		t.Fatalf("hash: got %s; want %s", hash(), first.Hash)
	}

	// A different reference: the same features over other rows.
	var csv strings.Builder
	csv.WriteString("age,income,country,prediction\n")
	for i := range 500 {
		fmt.Fprintf(&csv, "%d,%d,%s,%g\n", 30+i%40, 5000+i*10, []string{"DE", "IT"}[i%2], float64(i)/500)
	}
	second, err := sketch.BuildReference(strings.NewReader(csv.String()), sketch.CSV, []payload.FeatureSpec{
		{Name: "age", Type: payload.Numeric}, {Name: "income", Type: payload.Numeric}, {Name: "country", Type: payload.Categorical},
	}, sketch.BuildOptions{Prediction: &payload.PredictionSpec{Type: payload.Numeric}})
	if err != nil {
		t.Fatal(err)
	}
	if err := second.WriteFile(ref); err != nil {
		t.Fatal(err)
	}
	if err := r.s.Reload(); err != nil {
		t.Fatalf("reload with a replaced reference: %v", err)
	}
	if hash() != second.Hash {
		t.Errorf("after replacing the reference: hash %s; want %s", hash(), second.Hash)
	}

	testutil.WriteFile(t, ref, `{"format":"driftcar-reference","version":1,"features":[`)
	err = r.s.Reload()
	if err == nil || !strings.Contains(err.Error(), "reference") {
		t.Errorf("reload with a corrupt reference: got %v; want an error about the reference", err)
	}
	if hash() != second.Hash {
		t.Errorf("after a corrupt reference: hash %s; want the last good %s", hash(), second.Hash)
	}
}
