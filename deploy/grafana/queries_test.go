package grafana

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/driftcar/driftcar/deploy/prometheus"
)

const dashboardFile = "driftcar.json"

var testVars = map[string]string{"model": "credit-risk", "route": "predict", "feature": "income"}

func readDashboard(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fullDashboard is the part of Grafana's dashboard model the tests check.
type fullDashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []fullPanel `json:"panels"`
}

type fullPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr       string `json:"expr"`
		RefID      string `json:"refId"`
		Datasource *struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
	Panels []fullPanel `json:"panels"`
}

func TestDashboardEveryPanelHasAQuery(t *testing.T) {
	var d fullDashboard
	if err := json.Unmarshal(readDashboard(t), &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("uid %q, title %q: both are required", d.UID, d.Title)
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	if want := []string{"datasource", "model", "route", "feature"}; !slices.Equal(vars, want) {
		t.Errorf("variables = %q; want %q", vars, want)
	}
	ids := map[int]bool{}
	panels := 0
	var walk func([]fullPanel)
	walk = func(ps []fullPanel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel %q: duplicate id %d", p.Title, p.ID)
			}
			ids[p.ID] = true
			if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("panel %q: gridPos %+v out of the 24-column grid", p.Title, p.GridPos)
			}
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			panels++
			if p.Title == "" {
				t.Errorf("panel %d: no title", p.ID)
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: datasource must be the ${datasource} variable", p.Title)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q: no query", p.Title)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("panel %q query %s: empty expr", p.Title, tg.RefID)
				}
				if refs[tg.RefID] || tg.RefID == "" {
					t.Errorf("panel %q: refId %q missing or repeated", p.Title, tg.RefID)
				}
				refs[tg.RefID] = true
				if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
					t.Errorf("panel %q query %s: datasource must be ${datasource}", p.Title, tg.RefID)
				}
			}
		}
	}
	walk(d.Panels)
	if panels < 20 {
		t.Errorf("%d panels; the dashboard covers shadow, canary, drift, queues and overhead", panels)
	}
}

func TestDashboardQueries(t *testing.T) {
	qs, err := Queries(readDashboard(t), testVars)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if strings.Contains(q, "$") || strings.Contains(q, "[[") {
			t.Errorf("unfilled variable in %s", q)
		}
	}
	joined := strings.Join(qs, "\n")
	for _, want := range []string{
		`model="credit-risk", route="predict"`,
		`feature="income"`,
		"driftcar_shadow_comparisons_total",
		"driftcar_shadow_prediction_abs_diff_bucket",
		"driftcar_upstream_duration_seconds_bucket",
		"driftcar_drift_statistic",
		"driftcar_drift_threshold",
		"driftcar_feature_reference_value_bucket",
		"driftcar_feature_value_bucket",
		"driftcar_sampler_dropped_total",
		"driftcar_shadow_queue_length",
		"driftcar_canary_state",
		"model_route_feature_hash:driftcar_feature_psi:15m",
		"model_route_feature_hash:driftcar_feature_ks:15m",
		"driftcar_llm_time_to_first_token_seconds_bucket",
		"driftcar_llm_inter_token_seconds_bucket",
		"driftcar_llm_tokens_total",
		"driftcar_llm_finish_total",
		"driftcar_log_records_total",
		"driftcar_log_dropped_total",
		"driftcar_log_queue_records",
		"driftcar_log_sink_ready",
		"driftcar_grpc_requests_total",
		"driftcar_grpc_request_duration_seconds_bucket",
		"driftcar_grpc_fallbacks_total",
		"driftcar_labels_total",
		"driftcar_performance_state",
		"driftcar_challenger_verdict",
		"model_route:driftcar_labels_joined:ratio5m",
		"model_route_arm:driftcar_prediction_accuracy:5m",
		"model_route_arm:driftcar_prediction_auc:1h",
		"model_route_arm:driftcar_prediction_mae:1h",
		"model_route_arm:driftcar_prediction_rmse:1h",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("no query contains %s", want)
		}
	}
	if _, err := Queries(readDashboard(t), map[string]string{"model": "m"}); err == nil || !strings.Contains(err.Error(), "$route") {
		t.Errorf("Queries without route: err = %v; want one naming $route", err)
	}
}

// TestDashboardUsesKnownSeries catches misspelt metric and recording-rule
// names, which would show as empty panels.
func TestDashboardUsesKnownSeries(t *testing.T) {
	qs, err := Queries(readDashboard(t), testVars)
	if err != nil {
		t.Fatal(err)
	}
	recorded := recordedNames(t)
	ruleName := regexp.MustCompile(`[a-z_]+:[a-z_]+:[a-z0-9_]+`)
	for _, q := range qs {
		for _, s := range prometheus.SeriesNames(q) {
			if !prometheus.KnownSeries(s) {
				t.Errorf("unknown metric %s in %s", s, q)
			}
		}
		for _, r := range ruleName.FindAllString(q, -1) {
			if !recorded[r] {
				t.Errorf("unknown recording rule %s in %s", r, q)
			}
		}
	}
}

func recordedNames(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for name := range recordingExprs(t) {
		out[name] = true
	}
	return out
}

// TestDashboardQueriesParse has promtool parse every filled query, as a
// recording rule.
func TestDashboardQueriesParse(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool not found (apt-get install prometheus): %v", err)
		}
		t.Skipf("promtool not found (apt-get install prometheus): %v", err)
	}
	qs, err := Queries(readDashboard(t), testVars)
	if err != nil {
		t.Fatal(err)
	}
	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	rules := make([]rule, len(qs))
	for i, q := range qs {
		rules[i] = rule{fmt.Sprintf("grafana_query_%d", i), q}
	}
	data, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "grafana", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "queries.yml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

func TestQueries(t *testing.T) {
	dash := func(exprs ...string) []byte {
		var targets []map[string]string
		for i, e := range exprs {
			targets = append(targets, map[string]string{"refId": string(rune('A' + i)), "expr": e})
		}
		b, err := json.Marshal(map[string]any{"panels": []any{
			map[string]any{"type": "row", "title": "collapsed", "panels": []any{
				map[string]any{"type": "timeseries", "title": "p", "targets": targets},
			}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name    string
		exprs   []string
		vars    map[string]string
		want    []string
		wantErr string
	}{
		{
			name:  "forms",
			exprs: []string{`m{a="$x", b="${x}", c="${x:regex}", d="[[x]]"}`},
			vars:  map[string]string{"x": "v"},
			want:  []string{`m{a="v", b="v", c="v", d="v"}`},
		},
		{
			name:  "builtins default",
			exprs: []string{`rate(m[$__rate_interval]) + increase(m[$__range])`},
			want:  []string{`rate(m[1m]) + increase(m[15m])`},
		},
		{
			name:  "builtin override",
			exprs: []string{`rate(m[$__rate_interval])`},
			vars:  map[string]string{"__rate_interval": "30s"},
			want:  []string{`rate(m[30s])`},
		},
		{
			name:  "regex references stay",
			exprs: []string{`label_replace(m, "x", "$1", "y", "(.*)")`, `m{a=~"b$"}`},
			want:  []string{`label_replace(m, "x", "$1", "y", "(.*)")`, `m{a=~"b$"}`},
		},
		{
			name:  "empty targets skipped",
			exprs: []string{" ", "m"},
			want:  []string{"m"},
		},
		{name: "missing variable", exprs: []string{`m{a="$model"}`}, wantErr: `panel "p" query A: no value for $model`},
		{name: "no queries", exprs: nil, wantErr: "no queries"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Queries(dash(tc.exprs...), tc.vars)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
	if _, err := Queries([]byte("{"), nil); err == nil {
		t.Error("Queries of invalid JSON: no error")
	}
}
