package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/driftcar/driftcar/deploy/prometheus"
)

// The parts of Flagger's and Argo Rollouts' CRDs that the templates use,
// decoded strictly.
type (
	metricTemplate struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata"`
		Spec              struct {
			Provider struct {
				Type    string `json:"type"`
				Address string `json:"address"`
			} `json:"provider"`
			Query string `json:"query"`
		} `json:"spec"`
	}
	canary struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata"`
		Spec              struct {
			TargetRef struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Name       string `json:"name"`
			} `json:"targetRef"`
			Service struct {
				Port       int    `json:"port"`
				TargetPort string `json:"targetPort"`
			} `json:"service"`
			Analysis struct {
				Interval   string `json:"interval"`
				Threshold  int    `json:"threshold"`
				MaxWeight  int    `json:"maxWeight"`
				StepWeight int    `json:"stepWeight"`
				Metrics    []struct {
					Name        string `json:"name"`
					Interval    string `json:"interval"`
					TemplateRef *struct {
						Name      string `json:"name"`
						Namespace string `json:"namespace,omitempty"`
					} `json:"templateRef,omitempty"`
					TemplateVariables map[string]string `json:"templateVariables,omitempty"`
					ThresholdRange    struct {
						Min *float64 `json:"min,omitempty"`
						Max *float64 `json:"max,omitempty"`
					} `json:"thresholdRange"`
				} `json:"metrics"`
			} `json:"analysis"`
		} `json:"spec"`
	}
	analysisTemplate struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata"`
		Spec              struct {
			Args []struct {
				Name  string  `json:"name"`
				Value *string `json:"value,omitempty"`
			} `json:"args"`
			Metrics []struct {
				Name             string `json:"name"`
				InitialDelay     string `json:"initialDelay,omitempty"`
				Interval         string `json:"interval"`
				Count            int    `json:"count"`
				FailureLimit     int    `json:"failureLimit"`
				SuccessCondition string `json:"successCondition"`
				FailureCondition string `json:"failureCondition,omitempty"`
				Provider         struct {
					Prometheus struct {
						Address string `json:"address"`
						Query   string `json:"query"`
					} `json:"prometheus"`
				} `json:"provider"`
			} `json:"metrics"`
		} `json:"spec"`
	}
)

func documents(t *testing.T, glob string) [][]byte {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("%s: no files (%v)", glob, err)
	}
	var docs [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			docs = append(docs, doc)
		}
	}
	return docs
}

func kindOf(t *testing.T, doc []byte) string {
	t.Helper()
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		t.Fatal(err)
	}
	return tm.APIVersion + " " + tm.Kind
}

// placeholderRE matches a {{ name }} placeholder of Flagger and Argo Rollouts.
var placeholderRE = regexp.MustCompile(`\{\{\s*([^}\s]+)\s*\}\}`)

// fill replaces each {{ name }} of s by values[name], failing on an unknown
// name, so the query can be parsed and checked.
func fill(s string, values map[string]string) (string, error) {
	var unknown []string
	out := placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		v, ok := values[name]
		if !ok {
			unknown = append(unknown, name)
		}
		return v
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("undefined template variables %q", unknown)
	}
	return out, nil
}

// checkQueries runs the checks every template query gets: only driftcar's
// own metric names, and PromQL that promtool parses.
func checkQueries(t *testing.T, queries map[string]string) {
	t.Helper()
	for name, q := range queries {
		for _, s := range prometheus.SeriesNames(q) {
			if !prometheus.KnownSeries(s) {
				t.Errorf("%s: unknown metric %s", name, s)
			}
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool not found (apt-get install prometheus): %v", err)
		}
		t.Logf("promtool not found, queries not parsed: %v", err)
		return
	}
	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var rules []rule
	for name, q := range queries {
		rules = append(rules, rule{"template_" + strings.NewReplacer("-", "_", "/", "_").Replace(name), q})
	}
	data, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "templates", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "templates.yml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules on the templates' queries: %v\n%s", err, out)
	}
}

func TestFlaggerTemplates(t *testing.T) {
	templates := map[string]metricTemplate{}
	var canaries []canary
	for _, doc := range documents(t, "flagger/*.yaml") {
		switch k := kindOf(t, doc); k {
		case "flagger.app/v1beta1 MetricTemplate":
			var mt metricTemplate
			if err := yaml.UnmarshalStrict(doc, &mt); err != nil {
				t.Fatal(err)
			}
			if mt.Spec.Provider.Type != "prometheus" || mt.Spec.Provider.Address == "" {
				t.Errorf("MetricTemplate %s: want a prometheus provider with an address", mt.Name)
			}
			templates[mt.Name] = mt
		case "flagger.app/v1beta1 Canary":
			var c canary
			if err := yaml.UnmarshalStrict(doc, &c); err != nil {
				t.Fatal(err)
			}
			canaries = append(canaries, c)
		default:
			t.Errorf("unexpected kind %s", k)
		}
	}
	if len(templates) != 4 || len(canaries) != 1 {
		t.Fatalf("%d MetricTemplates and %d Canaries; want 4 and 1", len(templates), len(canaries))
	}
	// Every template is used, with every variable it needs, by the Canary;
	// fill the queries as Flagger would.
	c := canaries[0]
	queries := map[string]string{}
	for _, m := range c.Spec.Analysis.Metrics {
		if m.TemplateRef == nil {
			continue
		}
		mt, ok := templates[m.TemplateRef.Name]
		if !ok {
			t.Errorf("Canary metric %s: no MetricTemplate %s", m.Name, m.TemplateRef.Name)
			continue
		}
		if m.ThresholdRange.Min == nil && m.ThresholdRange.Max == nil {
			t.Errorf("Canary metric %s: no thresholdRange", m.Name)
		}
		values := map[string]string{"namespace": "models", "target": c.Spec.TargetRef.Name, "name": c.Name, "service": c.Name, "interval": m.Interval}
		for k, v := range m.TemplateVariables {
			values["variables."+k] = v
		}
		q, err := fill(mt.Spec.Query, values)
		if err != nil {
			t.Errorf("MetricTemplate %s in Canary metric %s: %v", mt.Name, m.Name, err)
			continue
		}
		queries[mt.Name] = q
		delete(templates, mt.Name)
	}
	for name := range templates {
		t.Errorf("MetricTemplate %s: not used by the example Canary", name)
	}
	if !strings.Contains(queries["driftcar-shadow-agreement"], "driftcar_shadow_comparisons_total") ||
		!strings.Contains(queries["driftcar-drift-state"], `feature="__prediction__"`) {
		t.Errorf("the Canary must gate on shadow agreement and prediction drift; queries: %q", queries)
	}
	if !strings.Contains(queries["driftcar-challenger-verdict"], "driftcar_challenger_verdict") ||
		!strings.Contains(queries["driftcar-accuracy-vs-primary"], "driftcar_prediction_outcomes_total") {
		t.Errorf("the Canary must gate on the challenger verdict and accuracy against the primary; queries: %q", queries)
	}
	checkQueries(t, queries)
	evalGroundTruthGates(t, queries["driftcar-challenger-verdict"], queries["driftcar-accuracy-vs-primary"])
}

func TestArgoAnalysisTemplate(t *testing.T) {
	var templates []analysisTemplate
	for _, doc := range documents(t, "argo-rollouts/*.yaml") {
		if k := kindOf(t, doc); k != "argoproj.io/v1alpha1 AnalysisTemplate" {
			t.Fatalf("unexpected kind %s", k)
		}
		var at analysisTemplate
		if err := yaml.UnmarshalStrict(doc, &at); err != nil {
			t.Fatal(err)
		}
		templates = append(templates, at)
	}
	if len(templates) != 1 {
		t.Fatalf("%d AnalysisTemplates; want 1", len(templates))
	}
	at := templates[0]
	// Args without a default are what a Rollout passes; give them values.
	values := map[string]string{}
	for _, a := range at.Spec.Args {
		v := "x"
		if a.Value != nil {
			v = *a.Value
		}
		values["args."+a.Name] = v
	}
	queries := map[string]string{}
	var names []string
	for _, m := range at.Spec.Metrics {
		names = append(names, m.Name)
		if m.SuccessCondition == "" || m.Interval == "" || m.Count == 0 {
			t.Errorf("metric %s: want successCondition, interval and count", m.Name)
		}
		for _, s := range []string{m.SuccessCondition, m.Provider.Prometheus.Address} {
			if _, err := fill(s, values); err != nil {
				t.Errorf("metric %s: %v", m.Name, err)
			}
		}
		q, err := fill(m.Provider.Prometheus.Query, values)
		if err != nil {
			t.Errorf("metric %s: %v", m.Name, err)
			continue
		}
		queries[at.Name+"/"+m.Name] = q
	}
	if want := "shadow-agreement,prediction-drift,challenger-verdict,accuracy-vs-stable"; strings.Join(names, ",") != want {
		t.Errorf("metrics %q; want %s", names, want)
	}
	checkQueries(t, queries)

	// The ground-truth gates again, with the hashes of the pods of
	// evalGroundTruthGates.
	values["args.namespace"], values["args.model"] = "models", "credit-risk"
	values["args.canary-hash"], values["args.stable-hash"] = "5d8f9", "7c6b5"
	gates := map[string]string{}
	for _, m := range at.Spec.Metrics {
		q, err := fill(m.Provider.Prometheus.Query, values)
		if err != nil {
			t.Fatal(err)
		}
		gates[m.Name] = q
	}
	evalGroundTruthGates(t, gates["challenger-verdict"], gates["accuracy-vs-stable"])
}
