package sidecar

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/testupstream"
)

// columnsTest is a protocol that exists only in this test: requests hold
// {"columns": {"<feature>": [one value per row]}}, responses
// {"answer": [one prediction per row]}. It is one value and one Register
// call, as adding a protocol to internal/payload is one file.
type columnsTest struct{}

func (columnsTest) Rows(req *payload.Request) error {
	cols, ok := req.Root().Field("columns")
	if !ok || cols.Kind() != payload.NodeObject {
		return payload.ErrWrongType
	}
	rows := -1
	for j := range req.Features() {
		if col, ok := cols.Field(req.Key(j)); ok && req.ByLayout(j) {
			if col.Kind() != payload.NodeArray || rows >= 0 && col.Len() != rows {
				return payload.ErrShapeMismatch
			}
			rows = col.Len()
		}
	}
	req.SetRows(max(rows, 1))
	for j := range req.Features() {
		col, ok := cols.Field(req.Key(j))
		if !ok || !req.ByLayout(j) {
			continue
		}
		for r, v := range col.Elems() {
			if r < req.Rows() {
				req.Set(r, j, v)
			}
		}
	}
	return nil
}

func (columnsTest) Predictions(resp *payload.Response) error {
	answer, ok := resp.Root().Field("answer")
	if !ok || answer.Kind() != payload.NodeArray {
		return payload.ErrWrongType
	}
	for _, v := range answer.Elems() {
		resp.Add(v)
	}
	return nil
}

func init() { payload.Register(payload.ProtocolInfo{Name: "columns-test", Codec: columnsTest{}}) }

// TestAProtocolRegisteredInATest: config validation, sampling, prediction
// drift and shadow comparison all read a protocol that only this test
// registers.
func TestAProtocolRegisteredInATest(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"answer":[0.25,0.5,0.75,0.9]}`))
	shadowAddr := testupstream.Start(t, testupstream.Answer("shadow", `{"answer":[0.25,0.5,0.75,0.1]}`))
	ref := filepath.Join(t.TempDir(), "reference.json")
	writeReference(t, ref)
	r := start(t, fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
model: credit-risk
upstreams:
  live:   { address: %s }
  shadow: { address: %s }
routes:
  - name: predict
    protocol: columns-test
    split: [{ upstream: live, weight: 1 }]
    sample: { fraction: 1 }
    shadow: { upstream: shadow, fraction: 1 }
features:
  - { name: age, type: numeric }
  - { name: country, type: categorical }
prediction: { type: numeric }
reference: { file: %s }
`, live, shadowAddr, ref))
	for i := range 5 {
		body := `{"columns":{"age":[20,30,40,50],"country":["DE","FR","US","DE"]}}`
		resp, err := http.Post("http://"+r.s.ProxyAddr()+"/predict?id="+fmt.Sprint(i), "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	admin := "http://" + r.s.AdminAddr()
	want := []string{
		`driftcar_feature_value_count{feature="age",model="credit-risk",route="predict"} 20`,
		`driftcar_feature_value_sum{feature="age",model="credit-risk",route="predict"} 700`,
		`driftcar_feature_category_total{category="DE",feature="country",model="credit-risk",route="predict"} 10`,
		`driftcar_feature_value_count{feature="__prediction__",model="credit-risk",route="predict"} 20`,
		`driftcar_shadow_comparisons_total{model="credit-risk",outcome="match",route="predict"} 15`,
		`driftcar_shadow_comparisons_total{model="credit-risk",outcome="mismatch",route="predict"} 5`,
	}
	waitMetrics(t, admin, "sampling and the shadow count every row", want...)
}
