package grafana

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/driftcar/driftcar/deploy/prometheus"
	"github.com/driftcar/driftcar/internal/testutil"
)

var ruleNameRE = regexp.MustCompile(`[a-z_]+:[a-z_]+:[a-z0-9_]+`)

// groundTruthSeries returns the ground-truth metrics (those of
// groundTruthPrefixes, histogram series included) that q reads, directly or through the
// recording rules of deploy/prometheus/rules, sorted by first use; none
// for a query outside the Ground truth row. Such a query can only return
// data from a sidecar with ground_truth configured (and the AUC only for
// binary labels, the errors only for numeric ones), so the live tests
// require data from it only while every series it reads exists.
func groundTruthSeries(t *testing.T, q string) []string {
	t.Helper()
	exprs := recordingExprs(t)
	seen := map[string]bool{}
	var out []string
	var walk func(expr string)
	walk = func(expr string) {
		for _, s := range prometheus.SeriesNames(expr) {
			if isGroundTruth(s) && !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
		for _, r := range ruleNameRE.FindAllString(expr, -1) {
			if !seen[r] {
				seen[r] = true
				walk(exprs[r])
			}
		}
	}
	walk(q)
	return out
}

// groundTruthPrefixes start the names of the metrics a sidecar exports
// only with ground_truth configured.
var groundTruthPrefixes = []string{
	"driftcar_labels_", "driftcar_prediction_outcomes_", "driftcar_prediction_score", "driftcar_prediction_log_loss_",
	"driftcar_prediction_scored_", "driftcar_prediction_abs_error", "driftcar_prediction_squared_error_",
	"driftcar_prediction_signed_error_", "driftcar_performance", "driftcar_challenger_", "driftcar_ground_truth_",
}

func isGroundTruth(series string) bool {
	if !prometheus.KnownSeries(series) {
		return false
	}
	for _, p := range groundTruthPrefixes {
		if strings.HasPrefix(series, p) {
			return true
		}
	}
	return false
}

func recordingExprs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("../prometheus/rules/driftcar-recording.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups []struct {
			Rules []struct {
				Record string `json:"record"`
				Expr   string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(data, &rf); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			out[r.Record] = r.Expr
		}
	}
	return out
}

// requiredNow reports whether q must return data now: always outside the
// Ground truth row, and inside it while Prometheus has every ground-truth
// series q reads (present caches the answers of one poll).
func requiredNow(t *testing.T, client *http.Client, base, q string, present map[string]bool) bool {
	t.Helper()
	series := groundTruthSeries(t, q)
	// A window gauge of a binary-only or numeric-only metric exists only
	// for such a label: the series behind it tells.
	for metric, needs := range labelKindSeries {
		if strings.Contains(q, `metric="`+metric+`"`) || strings.Contains(q, `metric=~"`+metric) {
			series = append(series, needs)
		}
	}
	for _, s := range series {
		has, ok := present[s]
		if !ok {
			n, err := instantQuery(client, base, s)
			has = err == nil && n > 0
			present[s] = has
		}
		if !has {
			return false
		}
	}
	return true
}

// labelKindSeries maps the driftcar_performance metrics of one label kind
// to a series only that kind exports.
var labelKindSeries = map[string]string{
	"auc": "driftcar_prediction_score_bucket", "log_loss": "driftcar_prediction_score_bucket",
	"mae": "driftcar_prediction_abs_error_count", "rmse": "driftcar_prediction_abs_error_count", "mean_error": "driftcar_prediction_abs_error_count",
}

func TestGroundTruthSeries(t *testing.T) {
	tests := []struct {
		q    string
		want []string
	}{
		{`sum(rate(driftcar_requests_total[1m]))`, nil},
		{`sum(rate(driftcar_labels_total[1m]))`, []string{"driftcar_labels_total"}},
		{`model_route_arm:driftcar_prediction_rmse:1h`, []string{"driftcar_prediction_squared_error_total", "driftcar_prediction_abs_error_count"}},
		{`model_route_arm:driftcar_prediction_auc:1h`, []string{"driftcar_prediction_score_bin_total", "driftcar_prediction_score_bucket", "driftcar_prediction_score_count"}},
	}
	for _, tc := range tests {
		got := groundTruthSeries(t, tc.q)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("groundTruthSeries(%s) = %q; want %q", tc.q, got, tc.want)
		}
	}
}

// groundTruthExposition is one scrape of a sidecar with ground truth on
// route predict after k scrapes: counters grow by their step each scrape.
// Arm live: outcomes (0,0) 8, (0,1) 1, (1,0) 1, (1,1) 10 a scrape (accuracy
// 0.9); scores in bins 0.5 and 1 (positives 1 and 9, negatives 8 and 2, so
// AUC 1 − (8·0.5 + 2·5.5)/100 = 0.85). Both arms also carry regression errors,
// which a real route would not, so that every panel has data.
func groundTruthExposition(k float64) string {
	var b strings.Builder
	l := `model="credit-risk",route="predict"`
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("# TYPE driftcar_labels_total counter")
	for result, step := range map[string]float64{"joined": 20, "unmatched": 2, "expired": 1, "duplicate": 1, "invalid": 1} {
		w(`driftcar_labels_total{%s,result=%q} %g`, l, result, step*k)
	}
	w("# TYPE driftcar_prediction_outcomes_total counter")
	for _, arm := range []string{"live", "shadow"} {
		for cell, step := range map[[2]string]float64{{"0", "0"}: 8, {"0", "1"}: 1, {"1", "0"}: 1, {"1", "1"}: 10} {
			w(`driftcar_prediction_outcomes_total{%s,arm=%q,actual=%q,predicted=%q} %g`, l, arm, cell[0], cell[1], step*k)
		}
	}
	w("# TYPE driftcar_prediction_score histogram")
	w("# TYPE driftcar_prediction_score_bin_total counter")
	for _, arm := range []string{"live", "shadow"} {
		for actual, bins := range map[string][2]float64{"1": {1, 9}, "0": {8, 2}} {
			w(`driftcar_prediction_score_bucket{%s,arm=%q,actual=%q,le="0.5"} %g`, l, arm, actual, bins[0]*k)
			w(`driftcar_prediction_score_bucket{%s,arm=%q,actual=%q,le="1"} %g`, l, arm, actual, (bins[0]+bins[1])*k)
			w(`driftcar_prediction_score_bucket{%s,arm=%q,actual=%q,le="+Inf"} %g`, l, arm, actual, (bins[0]+bins[1])*k)
			w(`driftcar_prediction_score_sum{%s,arm=%q,actual=%q} %g`, l, arm, actual, (bins[0]*0.4+bins[1]*0.9)*k)
			w(`driftcar_prediction_score_count{%s,arm=%q,actual=%q} %g`, l, arm, actual, (bins[0]+bins[1])*k)
			w(`driftcar_prediction_score_bin_total{%s,arm=%q,actual=%q,le="0.5"} %g`, l, arm, actual, bins[0]*k)
			w(`driftcar_prediction_score_bin_total{%s,arm=%q,actual=%q,le="1"} %g`, l, arm, actual, bins[1]*k)
		}
	}
	w("# TYPE driftcar_prediction_abs_error histogram")
	w("# TYPE driftcar_prediction_squared_error_total counter")
	w("# TYPE driftcar_prediction_signed_error_total counter")
	for _, arm := range []string{"live", "shadow"} {
		w(`driftcar_prediction_abs_error_bucket{%s,arm=%q,le="+Inf"} %g`, l, arm, 4*k)
		w(`driftcar_prediction_abs_error_sum{%s,arm=%q} %g`, l, arm, 2*k)
		w(`driftcar_prediction_abs_error_count{%s,arm=%q} %g`, l, arm, 4*k)
		w(`driftcar_prediction_squared_error_total{%s,arm=%q} %g`, l, arm, 3*k)
		w(`driftcar_prediction_signed_error_total{%s,arm=%q,direction="over"} %g`, l, arm, 1*k)
		w(`driftcar_prediction_signed_error_total{%s,arm=%q,direction="under"} %g`, l, arm, 0*k)
	}
	w("# TYPE driftcar_performance gauge")
	for _, metric := range []string{"accuracy", "auc"} {
		w(`driftcar_performance{%s,arm="live",window="5m",metric=%q} 0.9`, l, metric)
	}
	w(`driftcar_performance_state{%s,arm="live"} 1`, l)
	w(`driftcar_performance_sla_breached{%s,arm="live",metric="accuracy"} 0`, l)
	for _, v := range []string{"insufficient_data", "not_better", "better_by_margin", "worse"} {
		w(`driftcar_challenger_verdict{%s,arm="shadow",verdict=%q} %d`, l, v, map[bool]int{true: 1}[v == "not_better"])
	}
	w(`driftcar_challenger_difference{%s,arm="shadow"} 0.01`, l)
	w(`driftcar_challenger_pvalue{%s,arm="shadow"} 0.3`, l)
	w(`driftcar_ground_truth_entries{model="credit-risk"} 1234`)
	w("# TYPE driftcar_ground_truth_evicted_total counter")
	w(`driftcar_ground_truth_evicted_total{model="credit-risk"} %g`, 3*k)
	return b.String()
}

// TestGroundTruthRowAgainstPrometheus runs the queries of the Ground truth
// row against a real Prometheus, with driftcar's recording rules, scraping
// a loopback exporter of the ground-truth metrics in the names and labels a
// sidecar exports: each must return data, and the fleet accuracy and AUC
// the values of the exported counts.
func TestGroundTruthRowAgainstPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prometheus for about 10 seconds")
	}
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus is not installed; .ci/run installs the Debian package")
		}
		t.Skip("prometheus not installed")
	}
	var scrapes atomic.Int64
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = fmt.Fprint(w, groundTruthExposition(float64(scrapes.Add(1))))
	}))
	defer exporter.Close()

	rules, err := filepath.Abs("../prometheus/rules/driftcar-recording.yml")
	if err != nil {
		t.Fatal(err)
	}
	web, logs := startPrometheus(t, prom, strings.TrimPrefix(exporter.URL, "http://"), rules)

	all, err := Queries(readDashboard(t), map[string]string{"model": "credit-risk", "route": "predict", "feature": "x", "__rate_interval": "5s"})
	if err != nil {
		t.Fatal(err)
	}
	var qs []string
	for _, q := range all {
		if len(groundTruthSeries(t, q)) > 0 {
			qs = append(qs, q)
		}
	}
	if len(qs) < 15 {
		t.Fatalf("%d ground-truth queries in the dashboard; want labels, accuracy, AUC, state, verdict, errors and the table", len(qs))
	}
	values := map[string]float64{
		`model_route_arm:driftcar_prediction_accuracy:5m{model="credit-risk", route="predict"}`: 0.9,
		`model_route_arm:driftcar_prediction_auc:1h{model="credit-risk", route="predict"}`:      0.85,
	}
	client := &http.Client{Timeout: 5 * time.Second}
	var missing []string
	if !testutil.Poll(60*time.Second, time.Second, func() bool {
		missing = missing[:0]
		for _, q := range qs {
			if n, err := instantQuery(client, "http://"+web, q); err != nil || n == 0 {
				missing = append(missing, fmt.Sprintf("%v: %s", err, q))
			}
		}
		for q, want := range values {
			byArm, err := armValues(client, "http://"+web, q)
			if err != nil || math.Abs(byArm["live"]-want) > 1e-9 || math.Abs(byArm["shadow"]-want) > 1e-9 {
				missing = append(missing, fmt.Sprintf("%s = %v (%v); want %v for live and shadow", q, byArm, err, want))
			}
		}
		return len(missing) == 0
	}) {
		t.Fatalf("after 60s:\n%s\nprometheus log:\n%s", strings.Join(missing, "\n"), logs.String())
	}
}
