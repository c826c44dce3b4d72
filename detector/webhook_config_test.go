package detector

import (
	"reflect"
	"testing"

	"github.com/driftcar/driftcar/config"
)

func TestApplyWebhookConfig(t *testing.T) {
	t.Setenv("DRIFTCAR_TEST_PW", "pw")
	c, err := config.Parse([]byte(`upstreams: { live: { address: 127.0.0.1:8501 } }
routes: [{ name: predict, split: [{ upstream: live, weight: 1 }] }]
features: [{ name: age, type: numeric }]
reference: { file: ref.json }
drift:
  webhook:
    url: http://airflow.local/
    format: airflow
    airflow: { dag_id: retrain, api_version: v2 }
    auth: { basic: { username: driftcar, password_env: DRIFTCAR_TEST_PW } }
    when: { all: [ { drift: true }, { latency_p99_ratio_above: 1.5 }, { shadow_agreement_below: 0.95 }, { error_rate_above: 0.01 } ] }
`))
	if err != nil {
		t.Fatal(err)
	}
	var opts WebhookOptions
	ApplyWebhookConfig(&opts, c.Drift.Webhook, func(k string) string { return map[string]string{"DRIFTCAR_TEST_PW": "pw"}[k] })
	if opts.Format != FormatAirflow || opts.Target != (Target{DagID: "retrain", AirflowAPI: "v2"}) ||
		opts.Auth != (Auth{Username: "driftcar", Password: "pw"}) {
		t.Errorf("got format %q, target %+v, auth %+v", opts.Format, opts.Target, opts.Auth)
	}
	if !reflect.DeepEqual(opts.When, fourConditions) {
		t.Errorf("when: got %v; want %v", opts.When, fourConditions)
	}
}
