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

// panicsTest is columnsTest, except that a request or a response holding
// "boom" panics its decoder, as a decoder bug on a hostile body would.
type panicsTest struct{ columnsTest }

func (p panicsTest) Rows(req *payload.Request) error {
	if _, boom := req.Root().Field("boom"); boom {
		panic("decoder bug on a request")
	}
	return p.columnsTest.Rows(req)
}

func (p panicsTest) Predictions(resp *payload.Response) error {
	if _, boom := resp.Root().Field("boom"); boom {
		panic("decoder bug on a response")
	}
	return p.columnsTest.Predictions(resp)
}

func init() { payload.Register(payload.ProtocolInfo{Name: "panics-test", Codec: panicsTest{}}) }

// TestWorkersSurviveAPanic: a body that panics the sampler's or the
// shadow's decoder is counted, the live answer is untouched, and the
// workers go on with the next body.
func TestWorkersSurviveAPanic(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"answer":[0.5]}`))
	shadowAddr := testupstream.Start(t, testupstream.Answer("shadow", `{"boom":1,"answer":[0.5]}`))
	ref := filepath.Join(t.TempDir(), "reference.json")
	writeReference(t, ref)
	r := start(t, fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
model: credit-risk
upstreams:
  live:   { address: %s }
  shadow: { address: %s, max_conns: 1 }
routes:
  - name: predict
    protocol: panics-test
    split: [{ upstream: live, weight: 1 }]
    sample: { fraction: 1 }
    shadow: { upstream: shadow, fraction: 1 }
features:
  - { name: age, type: numeric }
prediction: { type: numeric }
reference: { file: %s }
`, live, shadowAddr, ref))
	for i, body := range []string{`{"boom":1}`, `{"columns":{"age":[30]}}`, `{"columns":{"age":[40]}}`} {
		resp, err := http.Post("http://"+r.s.ProxyAddr()+"/predict?id="+fmt.Sprint(i), "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}
	admin := "http://" + r.s.AdminAddr()
	want := []string{
		`driftcar_worker_panics_total{component="sampler",model="credit-risk"} 1`,
		`driftcar_worker_panics_total{component="shadow",model="credit-risk"} 3`,
		`driftcar_feature_value_count{feature="age",model="credit-risk",route="predict"} 2`,
	}
	waitMetrics(t, admin, "the panics are counted and the next bodies sampled", want...)
}
