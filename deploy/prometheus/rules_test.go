package prometheus

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// ruleFile is the Prometheus rule file format, decoded strictly.
type ruleFile struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval,omitempty"`
		Rules    []rule `json:"rules"`
	} `json:"groups"`
}

type rule struct {
	Record      string            `json:"record,omitempty"`
	Alert       string            `json:"alert,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

var (
	ruleFiles = []string{"rules/driftcar-recording.yml", "rules/driftcar-alerts.yml"}
	testFiles = []string{"tests/alerts.test.yml", fleetTestFile, groundTruthTestFile}
)

// promtool returns the path of promtool. It skips the test when promtool is
// missing, unless CI is set: CI installs it (Debian package prometheus).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool not found (apt-get install prometheus): %v", err)
		}
		t.Skipf("promtool not found (apt-get install prometheus): %v", err)
	}
	return p
}

func runPromtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func readStrict(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	var all []rule
	for _, f := range ruleFiles {
		var rf ruleFile
		readStrict(t, f, &rf)
		if len(rf.Groups) == 0 {
			t.Fatalf("%s: no rule groups", f)
		}
		for _, g := range rf.Groups {
			all = append(all, g.Rules...)
		}
	}
	return all
}

func TestPromtoolCheckRules(t *testing.T) {
	runPromtool(t, ".", append([]string{"check", "rules"}, ruleFiles...)...)
}

func TestPromtoolTestRules(t *testing.T) {
	runPromtool(t, ".", append([]string{"test", "rules"}, testFiles...)...)
}

func TestPromtoolCheckConfig(t *testing.T) {
	runPromtool(t, ".", "check", "config", "prometheus-local.yml")

	// Debian's Prometheus is built without Kubernetes service discovery, so
	// check prometheus.yml with its kubernetes_sd_configs swapped for a
	// static target: everything else (relabelling, rule files) is checked.
	var cfg map[string]any
	readStrict(t, "prometheus.yml", &cfg)
	dir := t.TempDir()
	var rules []any
	for _, f := range cfg["rule_files"].([]any) {
		abs, err := filepath.Abs(f.(string))
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, abs)
	}
	cfg["rule_files"] = rules
	sd := 0
	for _, sc := range cfg["scrape_configs"].([]any) {
		sc := sc.(map[string]any)
		if _, ok := sc["kubernetes_sd_configs"]; ok {
			delete(sc, "kubernetes_sd_configs")
			sc["static_configs"] = []any{map[string]any{"targets": []any{"127.0.0.1:9901"}}}
			sd++
		}
	}
	if sd == 0 {
		t.Fatal("prometheus.yml: no kubernetes_sd_configs")
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, dir, "check", "config", "prometheus.yml")
}

// TestEveryAlertIsTested requires each alert to have a unit test where it
// fires and one where it stays quiet, and the fleet statistics to have
// value tests.
func TestEveryAlertIsTested(t *testing.T) {
	fires, quiet := map[string]bool{}, map[string]bool{}
	var exprs []string
	for _, f := range testFiles {
		var tf unitTestFile
		readStrict(t, f, &tf)
		for _, tg := range tf.Tests {
			for _, at := range tg.AlertRuleTests {
				if len(at.ExpAlerts) > 0 {
					fires[at.Alertname] = true
				} else {
					quiet[at.Alertname] = true
				}
			}
			for _, et := range tg.PromQLExprTests {
				exprs = append(exprs, et.Expr)
			}
		}
	}
	var alerts []string
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		alerts = append(alerts, r.Alert)
		if !fires[r.Alert] {
			t.Errorf("alert %s: no unit test where it fires", r.Alert)
		}
		if !quiet[r.Alert] {
			t.Errorf("alert %s: no unit test where it stays quiet", r.Alert)
		}
		if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("alert %s: needs a severity label, a summary and a description", r.Alert)
		}
	}
	for name := range fires {
		if !slices.Contains(alerts, name) {
			t.Errorf("unit tests name alert %s, which no rule defines", name)
		}
	}
	for _, want := range []string{
		"model_route_feature_hash:driftcar_feature_psi:15m",
		"model_route_feature_hash:driftcar_feature_ks:15m",
		"model_route_feature_hash:driftcar_feature_bin:increase15m",
		"model_route_arm:driftcar_prediction_accuracy:5m",
		"model_route_arm:driftcar_prediction_accuracy:1h",
		"model_route_arm:driftcar_prediction_auc:1h",
		"model_route_arm:driftcar_prediction_auc:5m",
		"model_route_arm:driftcar_prediction_mae:1h",
		"model_route_arm:driftcar_prediction_rmse:5m",
		"model_route_arm:driftcar_prediction_mean_error:1h",
		"model_route:driftcar_labels_joined:ratio5m",
	} {
		if !slices.ContainsFunc(exprs, func(e string) bool { return strings.Contains(e, want) }) {
			t.Errorf("recording rule %s: no promql_expr_test", want)
		}
	}
}

// TestRulesUseKnownMetrics catches misspelt metric names, which PromQL
// would silently treat as absent series.
func TestRulesUseKnownMetrics(t *testing.T) {
	recorded := map[string]bool{}
	for _, r := range loadRules(t) {
		if r.Record != "" {
			recorded[r.Record] = true
		}
	}
	for _, r := range loadRules(t) {
		name := r.Record + r.Alert
		for _, s := range SeriesNames(r.Expr) {
			if !KnownSeries(s) {
				t.Errorf("rule %s: unknown metric %s", name, s)
			}
		}
		for _, word := range strings.FieldsFunc(r.Expr, func(c rune) bool {
			return c != '_' && c != ':' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9')
		}) {
			if strings.Count(word, ":") == 2 && !recorded[word] {
				t.Errorf("rule %s: unknown recording rule %s", name, word)
			}
		}
	}
}

func TestKnownSeries(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"driftcar_requests_total", true},
		{"driftcar_feature_value_bucket", true},
		{"driftcar_feature_value", false},
		{"driftcar_requests_total_bucket", false},
		{"driftcar_shadow_comparison_total", false},
	}
	for _, tc := range tests {
		if got := KnownSeries(tc.name); got != tc.want {
			t.Errorf("KnownSeries(%q) = %v; want %v", tc.name, got, tc.want)
		}
	}
	got := SeriesNames(`sum(rate(driftcar_requests_total{route="x"}[5m])) / a:driftcar_requests_total:rate5m + driftcar_build_info`)
	if want := []string{"driftcar_build_info", "driftcar_requests_total"}; !slices.Equal(got, want) {
		t.Errorf("SeriesNames = %q; want %q", got, want)
	}
}
