package detector

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Format is the shape of a webhook request.
type Format string

// The webhook formats.
const (
	// FormatJSON posts the event as the body to the URL (the default).
	FormatJSON Format = "json"
	// FormatCloudEvents posts a binary-mode CloudEvent of type
	// CloudEventType whose data is the event.
	FormatCloudEvents Format = "cloudevents"
	// FormatAirflow triggers a DAG run with the event as its conf.
	FormatAirflow Format = "airflow"
	// FormatArgoWorkflows submits a WorkflowTemplate with the parameters
	// route, model and event (the event as JSON).
	FormatArgoWorkflows Format = "argo-workflows"
	// FormatKubeflow creates a Kubeflow Pipelines (v2) run whose runtime
	// parameters are the event's fields.
	FormatKubeflow Format = "kubeflow"
)

// CloudEventType is the ce-type of format cloudevents for a drift event;
// the other events are "dev.driftcar." and their name.
const CloudEventType = "dev.driftcar.drift"

func cloudEventType(p *Payload) string {
	if k := p.kind(); k != EventDrift {
		return "dev.driftcar." + k
	}
	return CloudEventType
}

// Target holds what the presets other than json and cloudevents put in
// their paths and bodies.
type Target struct {
	// DagID and AirflowAPI ("v1" for Airflow 2, "v2" for Airflow 3;
	// default v1) name the DAG of FormatAirflow.
	DagID      string
	AirflowAPI string
	// Namespace and Template name the WorkflowTemplate of
	// FormatArgoWorkflows.
	Namespace string
	Template  string
	// PipelineID and PipelineVersionID name the pipeline version of
	// FormatKubeflow; ExperimentID, when set, its experiment.
	PipelineID        string
	PipelineVersionID string
	ExperimentID      string
}

// Auth holds the webhook's credentials: a bearer token, or basic auth
// when Username is set. Zero sends none.
type Auth struct {
	BearerToken string
	Username    string
	Password    string
}

// EventID identifies one drift event: the same across the retries of its
// notification, different for another route, model or onset time.
func EventID(p *Payload) string {
	h := sha256.New()
	h.Write([]byte(p.Model))
	h.Write([]byte{0})
	h.Write([]byte(p.Route))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(p.DriftAt.UnixNano(), 10)))
	if k := p.kind(); k != EventDrift {
		h.Write([]byte{0})
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(p.Arm))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// CloudEventSource is the ce-source of p: the sidecar's pod (or host),
// which with EventID makes the event unique across a fleet.
func CloudEventSource(p *Payload) string {
	id := p.Sidecar
	switch {
	case id.Namespace != "" && id.Pod != "":
		return "/driftcar/" + url.PathEscape(id.Namespace) + "/" + url.PathEscape(id.Pod)
	case id.Pod != "":
		return "/driftcar/" + url.PathEscape(id.Pod)
	case id.Host != "":
		return "/driftcar/" + url.PathEscape(id.Host)
	}
	return "/driftcar"
}

// request is one encoded webhook call.
type request struct {
	url    string
	body   []byte
	header http.Header
}

// encode shapes p as opts.Format asks.
func encode(opts *WebhookOptions, p *Payload) (request, error) {
	event, err := json.Marshal(p)
	if err != nil {
		return request{}, fmt.Errorf("cannot encode webhook event: %w", err)
	}
	r := request{url: opts.URL, body: event, header: http.Header{}}
	r.header.Set("Content-Type", "application/json")
	base := strings.TrimSuffix(opts.URL, "/")
	var body any
	switch opts.Format {
	case "", FormatJSON:
		return r, nil
	case FormatCloudEvents:
		// Binary content mode: the attributes are ce- headers and the body
		// is the data, typed by Content-Type.
		r.header.Set("ce-specversion", "1.0")
		r.header.Set("ce-type", cloudEventType(p))
		r.header.Set("ce-source", CloudEventSource(p))
		r.header.Set("ce-id", EventID(p))
		r.header.Set("ce-time", p.DriftAt.UTC().Format(time.RFC3339Nano))
		r.header.Set("ce-subject", p.Route)
		return r, nil
	case FormatAirflow:
		api := opts.Target.AirflowAPI
		if api == "" {
			api = "v1"
		}
		r.url = base + "/api/" + url.PathEscape(api) + "/dags/" + url.PathEscape(opts.Target.DagID) + "/dagRuns"
		run := map[string]any{"dag_run_id": airflowRunID(p), "conf": json.RawMessage(event)}
		if api == "v2" {
			// Required by Airflow 3, and nullable: a null logical date
			// never collides with another run's.
			run["logical_date"] = nil
		}
		body = run
	case FormatArgoWorkflows:
		r.url = base + "/api/v1/workflows/" + url.PathEscape(opts.Target.Namespace) + "/submit"
		body = argoSubmit{
			Namespace: opts.Target.Namespace, ResourceKind: "WorkflowTemplate", ResourceName: opts.Target.Template,
			SubmitOptions: argoSubmitOpts{Parameters: []string{"route=" + p.Route, "model=" + p.Model, "event=" + string(event)}},
		}
	case FormatKubeflow:
		r.url = base + "/apis/v2beta1/runs"
		var params map[string]json.RawMessage
		if err := json.Unmarshal(event, &params); err != nil {
			return request{}, fmt.Errorf("cannot split webhook event into parameters: %w", err)
		}
		body = kfpRun{
			DisplayName:  "driftcar " + strings.ReplaceAll(p.kind(), "_", " ") + " " + p.Model + "/" + p.Route + " " + p.DriftAt.UTC().Format(time.RFC3339),
			ExperimentID: opts.Target.ExperimentID,
			PipelineVersionReference: kfpVersionRef{
				PipelineID: opts.Target.PipelineID, PipelineVersionID: opts.Target.PipelineVersionID,
			},
			RuntimeConfig: kfpRuntimeConfig{Parameters: params},
		}
	default:
		return request{}, fmt.Errorf("unknown webhook format %q", opts.Format)
	}
	if r.body, err = json.Marshal(body); err != nil {
		return request{}, fmt.Errorf("cannot encode %s request: %w", opts.Format, err)
	}
	return r, nil
}

// airflowRunID is the dag_run_id of p: fixed across retries, so that a
// retry after a lost answer meets 409 Conflict rather than a second run.
// It keeps to Airflow's default allowed_run_id_pattern.
func airflowRunID(p *Payload) string {
	return "driftcar__" + p.Route + "__" + EventID(p)
}

// argoSubmit is Argo Workflows' WorkflowSubmitRequest.
type argoSubmit struct {
	Namespace     string         `json:"namespace"`
	ResourceKind  string         `json:"resourceKind"`
	ResourceName  string         `json:"resourceName"`
	SubmitOptions argoSubmitOpts `json:"submitOptions"`
}

type argoSubmitOpts struct {
	Parameters []string `json:"parameters"`
}

// kfpRun is the v2beta1 Run that Kubeflow Pipelines' CreateRun takes.
type kfpRun struct {
	DisplayName              string           `json:"display_name"`
	ExperimentID             string           `json:"experiment_id,omitempty"`
	PipelineVersionReference kfpVersionRef    `json:"pipeline_version_reference"`
	RuntimeConfig            kfpRuntimeConfig `json:"runtime_config"`
}

type kfpVersionRef struct {
	PipelineID        string `json:"pipeline_id"`
	PipelineVersionID string `json:"pipeline_version_id"`
}

type kfpRuntimeConfig struct {
	Parameters map[string]json.RawMessage `json:"parameters"`
}

// delivered reports whether an answer with status code means the event
// reached its target. Airflow answers 409 to a dag_run_id it already has:
// an earlier attempt of the same event got through.
func delivered(f Format, code int) bool {
	return code >= 200 && code <= 299 || f == FormatAirflow && code == http.StatusConflict
}
