package predlog

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/payload"
)

func TestAppendJSON(t *testing.T) {
	r := &Record{}
	fill(r, 7)
	r.Time = time.Date(2026, 12, 7, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
	r.Arm, r.Canary = "canary-v2", true
	r.Features[1].Fields[1].Value.SetNull()
	r.Prediction[1].SetString([]byte("deny \"now\"\n\x01\xff\u2028"))
	r.AddPrediction().SetNumber(math.NaN())
	r.Shadow.Mirrored, r.Shadow.Status, r.Shadow.Outcome = true, 503, "shadow_error"
	r.Shadow.AddPrediction().SetNumber(1e-9)
	r.Error = "upstream_timeout"
	r.AddHeader("x-user", []byte("u1"))
	b := r.AppendJSON(nil)
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	want := map[string]any{
		"request_id":      "req-000007",
		"time":            "2026-12-07T11:00:00.123456789Z",
		"model":           "credit-risk",
		"route":           "predict",
		"arm":             "canary-v2",
		"canary":          true,
		"status":          200.0,
		"latency_seconds": 0.0123,
		"features": []any{
			map[string]any{"age": 30.0, "city": "Paris"},
			map[string]any{"age": 31.0, "city": nil},
		},
		"prediction":    []any{0.25, "deny \"now\"\n\x01\ufffd\u2028", nil},
		"shadow":        map[string]any{"status": 503.0, "prediction": []any{1e-9}, "outcome": "shadow_error"},
		"request_body":  `{"instances":[[30,"Paris"],[31,"Paris"]]}`,
		"response_body": `{"predictions":[0.25,0.25]}`,
		"error":         "upstream_timeout",
		"headers":       map[string]any{"x-user": "u1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v\njson %s", got, want, b)
	}
	if _, err := time.Parse(time.RFC3339Nano, got["time"].(string)); err != nil {
		t.Errorf("time is not RFC 3339: %v", err)
	}
}

func TestAppendJSONMinimal(t *testing.T) {
	var r Record
	got := string(r.AppendJSON(nil))
	want := `{"request_id":"","time":"0001-01-01T00:00:00Z","model":"","route":"","arm":"","status":0,"latency_seconds":0,"features":[],"prediction":[]}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestResetReuses(t *testing.T) {
	r := &Record{}
	fill(r, 1)
	str := &r.Features[0].Fields[1].Value.Str[0]
	r.Reset()
	if len(r.Features) != 0 || len(r.Prediction) != 0 || len(r.RequestBody) != 0 || r.RequestID != "" {
		t.Fatalf("Reset left data: %+v", r)
	}
	fill(r, 2)
	if &r.Features[0].Fields[1].Value.Str[0] != str {
		t.Errorf("the second fill did not reuse the first one's memory")
	}
	if r.Features[0].Fields[0].Value.Kind != KindNumber || string(r.Features[0].Fields[1].Value.Str) != "Paris" {
		t.Errorf("reused row holds %+v", r.Features[0])
	}
}

func TestSetPayload(t *testing.T) {
	var r Record
	row := r.AddRow()
	row.Add("n").SetPayload(payload.Value{Kind: payload.ValueNumber, Num: 2.5})
	row.Add("s").SetPayload(payload.Value{Kind: payload.ValueString, Str: []byte("a")})
	row.Add("m").SetPayload(payload.Value{Kind: payload.ValueMissing})
	row.Add("i").SetPayload(payload.Value{Kind: payload.ValueInvalid, Num: 1})
	got := string(r.AppendJSON(nil))
	if want := `"features":[{"n":2.5,"s":"a","m":null,"i":null}]`; !strings.Contains(got, want) {
		t.Fatalf("got %s; want it to contain %s", got, want)
	}
}
