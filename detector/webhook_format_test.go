package detector

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/testutil"
)

// captured is one request as the loopback target saw it.
type captured struct {
	method, path string
	header       http.Header
	body         []byte
}

// recorder is a real HTTP target that hands each request to the test and
// answers status.
func recorder(t *testing.T, status int) (*httptest.Server, <-chan captured) {
	t.Helper()
	ch := make(chan captured, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ch <- captured{method: r.Method, path: r.URL.EscapedPath(), header: r.Header.Clone(), body: body}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func next(t *testing.T, ch <-chan captured) captured {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the target within 10s")
		return captured{}
	}
}

var (
	driftAt = time.Date(2026, 3, 14, 15, 9, 26, 535000000, time.UTC)
	sentAt  = time.Date(2026, 3, 14, 15, 9, 30, 0, time.UTC)
)

// samplePayload has every event field set.
func samplePayload() Payload {
	thr := 0.12
	return Payload{
		Model: "credit-risk", Route: "predict",
		Features: []FeatureView{{Name: "age", State: "drift", Since: &driftAt, Windows: []WindowView{
			{Window: "5m", N: 812, Tested: true, Tests: map[string]TestView{"ks": {Statistic: 0.31, Threshold: &thr, Breach: true}}},
		}}},
		Windows:   []string{"5m", "1h"},
		Reference: ReferenceID{Hash: "sha256:4f2a", Source: "reference.json", Rows: 100000},
		DriftAt:   driftAt,
		Sidecar:   Identity{Pod: "credit-risk-7d9f", Namespace: "ml", Host: "node-3", Version: "1.4.0"},
	}
}

// decodeObject unmarshals data into a map, failing the test on error.
func decodeObject(t *testing.T, what string, data []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s is not a JSON object: %v\n%s", what, err, data)
	}
	return m
}

// checkEvent asserts that event decodes to want, field by field: model,
// route, drifted features, windows, reference, times and sidecar.
func checkEvent(t *testing.T, event []byte, want Payload) {
	t.Helper()
	var got Payload
	dec := json.NewDecoder(strings.NewReader(string(event)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("event: %v\n%s", err, event)
	}
	want.SentAt = sentAt
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"model", got.Model, want.Model},
		{"route", got.Route, want.Route},
		{"features", got.Features, want.Features},
		{"windows", got.Windows, want.Windows},
		{"reference", got.Reference, want.Reference},
		{"drift_began_at", got.DriftAt.UTC(), want.DriftAt},
		{"sent_at", got.SentAt.UTC(), want.SentAt},
		{"sidecar", got.Sidecar, want.Sidecar},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Errorf("event %s: got %+v; want %+v", f.name, f.got, f.want)
		}
	}
}

func str(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s is not a JSON string: %v", raw, err)
	}
	return s
}

// sendOne delivers p through a webhook of opts to the recorder and returns
// what it received.
func sendOne(t *testing.T, opts WebhookOptions, ch <-chan captured) captured {
	t.Helper()
	opts.Now = func() time.Time { return sentAt }
	w := NewWebhook(opts, nil)
	runWebhook(t, w)
	w.Notify(samplePayload())
	return next(t, ch)
}

func checkHeader(t *testing.T, c captured, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := c.header.Get(k); got != v {
			t.Errorf("header %s: got %q; want %q", k, got, v)
		}
	}
}

func TestWebhookJSONIsTodaysBody(t *testing.T) {
	srv, ch := recorder(t, 200)
	c := sendOne(t, WebhookOptions{URL: srv.URL + "/drift", Secret: []byte("key")}, ch)
	if c.method != http.MethodPost || c.path != "/drift" {
		t.Errorf("request: got %s %s; want POST /drift", c.method, c.path)
	}
	checkHeader(t, c, map[string]string{"Content-Type": "application/json", "X-Driftcar-Signature": Sign([]byte("key"), c.body), "Authorization": ""})
	checkEvent(t, c.body, samplePayload())
}

// The binary content mode of the CloudEvents HTTP binding puts the
// attributes in ce- headers and the data in the body, typed by
// Content-Type (cloudevents/spec, cloudevents/bindings/http-protocol-binding.md
// §3.1; required attributes id, source, specversion, type in spec.md).
func TestWebhookCloudEvents(t *testing.T) {
	srv, ch := recorder(t, 202)
	c := sendOne(t, WebhookOptions{URL: srv.URL + "/", Format: FormatCloudEvents, Secret: []byte("key"),
		Auth: Auth{BearerToken: "tok-1"}}, ch)
	p := samplePayload()
	if c.method != http.MethodPost || c.path != "/" {
		t.Errorf("request: got %s %s; want POST /", c.method, c.path)
	}
	checkHeader(t, c, map[string]string{
		"Content-Type":         "application/json",
		"ce-specversion":       "1.0",
		"ce-type":              "dev.driftcar.drift",
		"ce-source":            "/driftcar/ml/credit-risk-7d9f",
		"ce-id":                EventID(&p),
		"ce-time":              "2026-03-14T15:09:26.535Z",
		"ce-subject":           "predict",
		"Authorization":        "Bearer tok-1",
		"X-Driftcar-Signature": Sign([]byte("key"), c.body),
	})
	if id := c.header.Get("ce-id"); len(id) != 32 {
		t.Errorf("ce-id %q: want 32 hex digits", id)
	}
	checkEvent(t, c.body, p)
}

// Airflow's stable REST API: POST /api/v1/dags/{dag_id}/dagRuns with a
// DAGRun body of dag_run_id, conf (an object) and an optional
// logical_date (airflow.apache.org/docs/apache-airflow/2.x
// stable-rest-api-ref.html#operation/post_dag_run). Airflow 3 serves
// /api/v2, whose TriggerDAGRunPostBody forbids extra fields and requires
// logical_date, which may be null (apache/airflow
// api_fastapi/core_api/datamodels/dag_run.py, PR 46390).
func TestWebhookAirflow(t *testing.T) {
	for _, tc := range []struct {
		api, wantPath string
		wantKeys      []string
	}{
		{"v1", "/airflow/api/v1/dags/retrain.credit-risk/dagRuns", []string{"conf", "dag_run_id"}},
		{"v2", "/airflow/api/v2/dags/retrain.credit-risk/dagRuns", []string{"conf", "dag_run_id", "logical_date"}},
	} {
		t.Run(tc.api, func(t *testing.T) {
			srv, ch := recorder(t, 200)
			c := sendOne(t, WebhookOptions{URL: srv.URL + "/airflow/", Format: FormatAirflow,
				Target: Target{DagID: "retrain.credit-risk", AirflowAPI: tc.api},
				Auth:   Auth{Username: "driftcar", Password: "s3cret"}}, ch)
			if c.method != http.MethodPost || c.path != tc.wantPath {
				t.Errorf("request: got %s %s; want POST %s", c.method, c.path, tc.wantPath)
			}
			checkHeader(t, c, map[string]string{
				"Content-Type":  "application/json",
				"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("driftcar:s3cret")),
			})
			body := decodeObject(t, "DAG run", c.body)
			var keys []string
			for k := range body {
				keys = append(keys, k)
			}
			if !sameSet(keys, tc.wantKeys) {
				t.Errorf("DAG run fields: got %v; want %v", keys, tc.wantKeys)
			}
			p := samplePayload()
			if got, want := str(t, body["dag_run_id"]), "driftcar__predict__"+EventID(&p); got != want {
				t.Errorf("dag_run_id: got %q; want %q", got, want)
			}
			if ld, ok := body["logical_date"]; ok && string(ld) != "null" {
				t.Errorf("logical_date: got %s; want null", ld)
			}
			checkEvent(t, body["conf"], p)
		})
	}
}

// Argo Workflows' WorkflowService.SubmitWorkflow: POST
// /api/v1/workflows/{namespace}/submit with a WorkflowSubmitRequest of
// namespace, resourceKind, resourceName and submitOptions.parameters as
// "name=value" strings (argoproj/argo-workflows api/openapi-spec/swagger.json,
// io.argoproj.workflow.v1alpha1.WorkflowSubmitRequest and SubmitOpts).
func TestWebhookArgoWorkflows(t *testing.T) {
	srv, ch := recorder(t, 200)
	c := sendOne(t, WebhookOptions{URL: srv.URL, Format: FormatArgoWorkflows,
		Target: Target{Namespace: "argo", Template: "retrain-credit-risk"}, Auth: Auth{BearerToken: "sa-token"}}, ch)
	if c.method != http.MethodPost || c.path != "/api/v1/workflows/argo/submit" {
		t.Errorf("request: got %s %s; want POST /api/v1/workflows/argo/submit", c.method, c.path)
	}
	checkHeader(t, c, map[string]string{"Content-Type": "application/json", "Authorization": "Bearer sa-token"})
	var req struct {
		Namespace     string `json:"namespace"`
		ResourceKind  string `json:"resourceKind"`
		ResourceName  string `json:"resourceName"`
		SubmitOptions struct {
			Parameters []string `json:"parameters"`
		} `json:"submitOptions"`
	}
	dec := json.NewDecoder(strings.NewReader(string(c.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		t.Fatalf("submit request: %v\n%s", err, c.body)
	}
	if req.Namespace != "argo" || req.ResourceKind != "WorkflowTemplate" || req.ResourceName != "retrain-credit-risk" {
		t.Errorf("submit request: got namespace %q, resourceKind %q, resourceName %q; want argo, WorkflowTemplate, retrain-credit-risk",
			req.Namespace, req.ResourceKind, req.ResourceName)
	}
	params := map[string]string{}
	for _, kv := range req.SubmitOptions.Parameters {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Errorf("parameter %q is not name=value", kv)
		}
		params[k] = v
	}
	if len(params) != 3 || params["route"] != "predict" || params["model"] != "credit-risk" {
		t.Errorf("parameters: got %q; want route=predict, model=credit-risk and event", req.SubmitOptions.Parameters)
	}
	checkEvent(t, []byte(params["event"]), samplePayload())
}

// Kubeflow Pipelines v2: RunService.CreateRun is POST /apis/v2beta1/runs
// with a V2beta1Run of display_name, experiment_id,
// pipeline_version_reference {pipeline_id, pipeline_version_id} and
// runtime_config.parameters, a map of JSON values (kubeflow/pipelines
// backend/api/v2beta1/python_http_client/docs/V2beta1Run.md,
// V2beta1RuntimeConfig.md, RunServiceApi.md).
func TestWebhookKubeflow(t *testing.T) {
	srv, ch := recorder(t, 200)
	c := sendOne(t, WebhookOptions{URL: srv.URL + "/pipeline", Format: FormatKubeflow,
		Target: Target{PipelineID: "p-123", PipelineVersionID: "v-456", ExperimentID: "e-789"}, Auth: Auth{BearerToken: "kfp"}}, ch)
	if c.method != http.MethodPost || c.path != "/pipeline/apis/v2beta1/runs" {
		t.Errorf("request: got %s %s; want POST /pipeline/apis/v2beta1/runs", c.method, c.path)
	}
	checkHeader(t, c, map[string]string{"Content-Type": "application/json", "Authorization": "Bearer kfp"})
	var run struct {
		DisplayName              string `json:"display_name"`
		ExperimentID             string `json:"experiment_id"`
		PipelineVersionReference struct {
			PipelineID        string `json:"pipeline_id"`
			PipelineVersionID string `json:"pipeline_version_id"`
		} `json:"pipeline_version_reference"`
		RuntimeConfig struct {
			Parameters map[string]json.RawMessage `json:"parameters"`
		} `json:"runtime_config"`
	}
	dec := json.NewDecoder(strings.NewReader(string(c.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&run); err != nil {
		t.Fatalf("run: %v\n%s", err, c.body)
	}
	if run.DisplayName != "driftcar drift credit-risk/predict 2026-03-14T15:09:26Z" {
		t.Errorf("display_name: got %q", run.DisplayName)
	}
	if run.ExperimentID != "e-789" || run.PipelineVersionReference.PipelineID != "p-123" || run.PipelineVersionReference.PipelineVersionID != "v-456" {
		t.Errorf("run references: got experiment %q, pipeline %q, version %q; want e-789, p-123, v-456",
			run.ExperimentID, run.PipelineVersionReference.PipelineID, run.PipelineVersionReference.PipelineVersionID)
	}
	if got := str(t, run.RuntimeConfig.Parameters["route"]); got != "predict" {
		t.Errorf("parameter route: got %q; want predict", got)
	}
	// The parameters are the event's fields, one each.
	event, err := json.Marshal(run.RuntimeConfig.Parameters)
	if err != nil {
		t.Fatal(err)
	}
	checkEvent(t, event, samplePayload())
}

// The event id, and so Airflow's dag_run_id, stays the same across the
// retries of one event; Airflow's 409 for a run id it has means an earlier
// attempt got through.
func TestWebhookAirflowConflictIsDelivered(t *testing.T) {
	srv, ch := recorder(t, http.StatusConflict)
	w := NewWebhook(WebhookOptions{URL: srv.URL, Format: FormatAirflow, Target: Target{DagID: "d"}}, nil)
	runWebhook(t, w)
	w.Notify(samplePayload())
	next(t, ch)
	testutil.Eventually(t, 10*time.Second, "the 409 counts as sent", func() bool { return w.sent.Load() == 1 && w.failed.Load() == 0 })

	// For the other formats a 409 is a failure.
	srv2, ch2 := recorder(t, http.StatusConflict)
	w2 := NewWebhook(WebhookOptions{URL: srv2.URL, Sleep: func(context.Context, time.Duration) error { return nil }}, nil)
	runWebhook(t, w2)
	w2.Notify(samplePayload())
	next(t, ch2)
	testutil.Eventually(t, 10*time.Second, "a json 409 fails", func() bool { return w2.failed.Load() == 1 })

	a, b := samplePayload(), samplePayload()
	b.SentAt = b.SentAt.Add(time.Minute)
	if EventID(&a) != EventID(&b) {
		t.Error("EventID changed with sent_at")
	}
	b.Route = "other"
	if EventID(&a) == EventID(&b) {
		t.Error("EventID is the same for another route")
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, s := range a {
		seen[s] = true
	}
	for _, s := range b {
		if !seen[s] {
			return false
		}
	}
	return true
}

func promotionPayload() Payload {
	p := samplePayload()
	p.Event, p.Arm, p.Features = EventPromotion, "shadow", nil
	p.Promotion = &Promotion{Challenger: "shadow", Champion: "live", Paired: true, Metric: "accuracy",
		Live: 0.80, Candidate: 0.90, Difference: 0.10, LowerBound: 0.07, Margin: 0.02, PValue: 1e-9, N: 2000, Window: "1h"}
	return p
}

// A promotion goes out in every format, typed as one, with an id of its
// own, and is never held by the drift conditions.
func TestWebhookPromotionInEveryFormat(t *testing.T) {
	drift, promo := samplePayload(), promotionPayload()
	if EventID(&drift) == EventID(&promo) {
		t.Fatal("a promotion has the id of the drift event at the same time")
	}
	for _, f := range []Format{FormatJSON, FormatCloudEvents, FormatAirflow, FormatArgoWorkflows, FormatKubeflow} {
		t.Run(string(f), func(t *testing.T) {
			srv, ch := recorder(t, 200)
			opts := WebhookOptions{URL: srv.URL, Format: f, Now: func() time.Time { return sentAt },
				Target: Target{DagID: "retrain", Namespace: "argo", Template: "retrain", PipelineID: "p", PipelineVersionID: "v"},
				When:   []Condition{{Kind: CondDrift}}, Signals: func(string) Signals { return Signals{} }}
			w := NewWebhook(opts, nil)
			runWebhook(t, w)
			w.Notify(promo)
			c := next(t, ch)
			// Every format carries the event's JSON, quoted inside a
			// string (argo) or not.
			body := strings.ReplaceAll(string(c.body), `\"`, `"`)
			if !strings.Contains(body, `"event":"promotion"`) || !strings.Contains(body, `"challenger":"shadow"`) {
				t.Errorf("body does not carry the promotion:\n%s", c.body)
			}
			switch f {
			case FormatCloudEvents:
				checkHeader(t, c, map[string]string{"ce-type": "dev.driftcar.promotion", "ce-id": EventID(&promo)})
			case FormatKubeflow:
				if !strings.Contains(string(c.body), "driftcar promotion credit-risk/predict") {
					t.Errorf("kubeflow run is not named as a promotion:\n%s", c.body)
				}
			}
		})
	}
}
