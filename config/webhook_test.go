package config

import (
	"strings"
	"testing"
)

// webhookBase is validBase with drift on; the webhook's own lines start
// at line 18.
const webhookBase = validBase + `features:
  - { name: age, type: numeric }
reference: { file: ref.json }
drift:
  webhook:
    url: http://orchestrator.local/
`

func TestWebhookPresets(t *testing.T) {
	t.Setenv("DRIFTCAR_TEST_TOKEN", "tok")
	t.Setenv("DRIFTCAR_TEST_PASSWORD", "pw")
	tests := []struct {
		name, in string
		check    func(*testing.T, *Webhook)
	}{
		{"json is the default", "", func(t *testing.T, w *Webhook) {
			if w.Format != "json" || w.Auth != nil || w.When != nil {
				t.Errorf("got format %q, auth %v, when %v; want json and none", w.Format, w.Auth, w.When)
			}
		}},
		{"cloudevents with a bearer token", "    format: cloudevents\n    auth: { bearer_token_env: DRIFTCAR_TEST_TOKEN }\n", func(t *testing.T, w *Webhook) {
			if w.Format != "cloudevents" || w.Auth.BearerTokenEnv != "DRIFTCAR_TEST_TOKEN" {
				t.Errorf("got %+v", w)
			}
		}},
		{"airflow defaults to v1", "    format: airflow\n    airflow: { dag_id: retrain.credit-risk }\n    auth: { basic: { username: driftcar, password_env: DRIFTCAR_TEST_PASSWORD } }\n", func(t *testing.T, w *Webhook) {
			if w.Airflow.DagID != "retrain.credit-risk" || w.Airflow.APIVersion != "v1" || w.Auth.Basic.Username != "driftcar" {
				t.Errorf("got airflow %+v, auth %+v", w.Airflow, w.Auth)
			}
		}},
		{"airflow 3", "    format: airflow\n    airflow: { dag_id: d, api_version: v2 }\n", func(t *testing.T, w *Webhook) {
			if w.Airflow.APIVersion != "v2" {
				t.Errorf("got api_version %q; want v2", w.Airflow.APIVersion)
			}
		}},
		{"argo-workflows", "    format: argo-workflows\n    argo_workflows: { namespace: argo, template: retrain }\n", func(t *testing.T, w *Webhook) {
			if w.ArgoWorkflows.Namespace != "argo" || w.ArgoWorkflows.Template != "retrain" {
				t.Errorf("got %+v", w.ArgoWorkflows)
			}
		}},
		{"kubeflow", "    format: kubeflow\n    kubeflow: { pipeline_id: p, pipeline_version_id: v, experiment_id: e }\n", func(t *testing.T, w *Webhook) {
			if *w.Kubeflow != (WebhookKubeflow{PipelineID: "p", PipelineVersionID: "v", ExperimentID: "e"}) {
				t.Errorf("got %+v", w.Kubeflow)
			}
		}},
		{"four conditions", "    when:\n      all:\n        - { drift: true }\n        - { latency_p99_ratio_above: 1.5 }\n        - { shadow_agreement_below: 0.95 }\n        - { error_rate_above: 0.01 }\n", func(t *testing.T, w *Webhook) {
			c := w.When.All
			if len(c) != 4 || !*c[0].Drift || *c[1].LatencyP99RatioAbove != 1.5 || *c[2].ShadowAgreementBelow != 0.95 || *c[3].ErrorRateAbove != 0.01 {
				t.Errorf("got %+v", c)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(webhookBase + tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tc.check(t, c.Drift.Webhook)
		})
	}
}

func TestWebhookRules(t *testing.T) {
	t.Setenv("DRIFTCAR_TEST_EMPTY", "")
	t.Setenv("DRIFTCAR_TEST_TOKEN", "tok")
	tests := []struct{ name, in, want string }{
		{"unknown format", "    format: jenkins\n",
			`drift.webhook.format: must be json, cloudevents, airflow, argo-workflows or kubeflow, got "jenkins" (line 18)`},
		{"preset without its block", "    format: airflow\n",
			`drift.webhook.airflow: required with format airflow (line 16)`},
		{"block of another preset", "    format: kubeflow\n    kubeflow: { pipeline_id: p, pipeline_version_id: v }\n    argo_workflows: { namespace: argo, template: t }\n",
			`drift.webhook.argo_workflows: only applies to format argo-workflows, got format kubeflow (line 20)`},
		{"bad airflow", "    format: airflow\n    airflow:\n      dag_id: \"my dag\"\n      api_version: v3\n",
			"drift.webhook.airflow.dag_id: must be a DAG id (letters, digits, '_', '.', '-'), got \"my dag\" (line 20)\n" +
				`drift.webhook.airflow.api_version: must be v1 (Airflow 2) or v2 (Airflow 3), got "v3" (line 21)`},
		{"bad argo", "    format: argo-workflows\n    argo_workflows: { namespace: Argo_NS }\n",
			"drift.webhook.argo_workflows.namespace: must be a Kubernetes namespace name, got \"Argo_NS\" (line 19)\n" +
				`drift.webhook.argo_workflows.template: must be a WorkflowTemplate name, got "" (line 19)`},
		{"kubeflow without ids", "    format: kubeflow\n    kubeflow: { experiment_id: e }\n",
			"drift.webhook.kubeflow.pipeline_id: required (line 19)\ndrift.webhook.kubeflow.pipeline_version_id: required (line 19)"},
		{"unset token variable", "    auth:\n      bearer_token_env: DRIFTCAR_TEST_UNSET_TOKEN\n",
			`drift.webhook.auth.bearer_token_env: environment variable DRIFTCAR_TEST_UNSET_TOKEN is not set (line 19)`},
		{"empty password variable", "    auth:\n      basic:\n        username: u\n        password_env: DRIFTCAR_TEST_EMPTY\n",
			`drift.webhook.auth.basic.password_env: environment variable DRIFTCAR_TEST_EMPTY is empty (line 21)`},
		{"bad username", "    auth: { basic: { username: \"a:b\", password_env: DRIFTCAR_TEST_TOKEN } }\n",
			`drift.webhook.auth.basic.username: must be a non-empty name without ':', got "a:b" (line 18)`},
		{"two kinds of auth", "    auth: { bearer_token_env: DRIFTCAR_TEST_TOKEN, basic: { username: u, password_env: DRIFTCAR_TEST_TOKEN } }\n",
			`drift.webhook.auth.basic: must not be set with bearer_token_env (line 18)`},
		{"empty auth", "    auth: {}\n",
			`drift.webhook.auth: needs bearer_token_env or basic (line 18)`},
		{"empty when", "    when: { all: [] }\n",
			`drift.webhook.when.all: at least one condition is required (line 18)`},
		{"bad conditions", "    when:\n      all:\n        - { drift: false }\n        - { latency_p99_ratio_above: 0 }\n        - { shadow_agreement_below: 1.5 }\n        - { error_rate_above: 1 }\n        - { drift: true, error_rate_above: 0.1 }\n        - {}\n",
			"drift.webhook.when.all[0].drift: must be true (leave the condition out instead) (line 20)\n" +
				"drift.webhook.when.all[1].latency_p99_ratio_above: must be a finite number > 0, got 0 (line 21)\n" +
				"drift.webhook.when.all[2].shadow_agreement_below: must be in (0, 1], got 1.5 (line 22)\n" +
				"drift.webhook.when.all[3].error_rate_above: must be in [0, 1), got 1 (line 23)\n" +
				"drift.webhook.when.all[4]: must set exactly one of drift, latency_p99_ratio_above, shadow_agreement_below, error_rate_above; got 2 (line 24)\n" +
				"drift.webhook.when.all[5]: must set exactly one of drift, latency_p99_ratio_above, shadow_agreement_below, error_rate_above; got 0 (line 25)"},
		{"unknown condition", "    when: { all: [ { psi_above: 0.2 } ] }\n", `drift.webhook.when.all[0].psi_above: unknown field`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(webhookBase + tc.in))
			if err == nil {
				t.Fatalf("Parse: got nil; want %s", tc.want)
			}
			if got := err.Error(); got != tc.want && !(strings.HasSuffix(tc.name, "condition") && strings.Contains(got, tc.want)) {
				t.Errorf("Parse error:\ngot  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// The variable names, like secret_env's, are not shown by /api/config.
func TestWebhookAuthRedacted(t *testing.T) {
	t.Setenv("DRIFTCAR_TEST_TOKEN", "tok")
	c, err := Parse([]byte(webhookBase + "    auth: { basic: { username: driftcar, password_env: DRIFTCAR_TEST_TOKEN } }\n"))
	if err != nil {
		t.Fatal(err)
	}
	if out := string(c.RedactedJSON()); strings.Contains(out, "DRIFTCAR_TEST_TOKEN") {
		t.Errorf("RedactedJSON shows the password variable:\n%s", out)
	}
	if c.Drift.Webhook.Auth.Basic.PasswordEnv != "DRIFTCAR_TEST_TOKEN" {
		t.Error("RedactedJSON changed the config")
	}
}
