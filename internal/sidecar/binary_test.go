package sidecar

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/testupstream"
)

// tensorBody is a body of the binary tensor extension: a JSON header
// naming each tensor's datatype, shape and byte size, then the raw bytes
// in order. It returns the body and the header length.
func tensorBody(key string, tensors ...tensorPart) ([]byte, int) {
	var head strings.Builder
	head.WriteString(`{"` + key + `": [`)
	var raw []byte
	for i, t := range tensors {
		if i > 0 {
			head.WriteString(", ")
		}
		fmt.Fprintf(&head, `{"name": %q, "datatype": %q, "shape": %s, "parameters": {"binary_data_size": %d}}`, t.name, t.dtype, t.shape, len(t.raw))
		raw = append(raw, t.raw...)
	}
	head.WriteString("]}")
	return append([]byte(head.String()), raw...), head.Len()
}

type tensorPart struct {
	name, dtype, shape string
	raw                []byte
}

func fp32(vals ...float32) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func byteElems(vals ...string) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	return b
}

// binaryUpstream answers with a binary FP32 output [4, 1] of scores, and
// counts requests that do not arrive byte for byte as sent.
func binaryUpstream(want []byte, wantLen int, altered *atomic.Int64, scores ...float32) fasthttp.RequestHandler {
	body, n := tensorBody("outputs", tensorPart{"prob", "FP32", "[4, 1]", fp32(scores...)})
	return func(ctx *fasthttp.RequestCtx) {
		h := ctx.Request.Header.Peek(payload.BinaryHeader)
		if string(h) != strconv.Itoa(wantLen) || !bytes.Equal(ctx.Request.Body(), want) {
			altered.Add(1)
		}
		ctx.Response.Header.Set(payload.BinaryHeader, strconv.Itoa(n))
		ctx.SetContentType("application/octet-stream")
		ctx.SetBody(body)
	}
}

// TestBinaryTensorsEndToEnd: a binary Open Inference request answered
// with binary outputs by live and shadow is sampled (features and
// predictions) and compared, and reaches both upstreams unchanged; a body
// whose sizes overrun is counted as binary_size.
func TestBinaryTensorsEndToEnd(t *testing.T) {
	req, n := tensorBody("inputs",
		tensorPart{"age", "FP32", "[4]", fp32(20, 30, 40, 50)},
		tensorPart{"country", "BYTES", "[4]", byteElems("DE", "FR", "US", "DE")})
	var altered atomic.Int64
	live := testupstream.Start(t, binaryUpstream(req, n, &altered, 0.25, 0.5, 0.75, 0.875))
	shadowAddr := testupstream.Start(t, binaryUpstream(req, n, &altered, 0.25, 0.5, 0.75, 0.1))
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
    protocol: open-inference-v2
    split: [{ upstream: live, weight: 1 }]
    sample: { fraction: 1 }
    shadow: { upstream: shadow, fraction: 1 }
features:
  - { name: age, type: numeric }
  - { name: country, type: categorical }
prediction: { type: numeric }
reference: { file: %s }
`, live, shadowAddr, ref))
	post := func(body []byte, headerLen int) []byte {
		t.Helper()
		hr, err := http.NewRequest(http.MethodPost, "http://"+r.s.ProxyAddr()+"/v2/models/m/infer", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		hr.Header.Set("Content-Type", "application/octet-stream")
		hr.Header.Set(payload.BinaryHeader, strconv.Itoa(headerLen))
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get(payload.BinaryHeader) == "" {
			t.Fatalf("status %d, %s %q", resp.StatusCode, payload.BinaryHeader, resp.Header.Get(payload.BinaryHeader))
		}
		return got
	}
	for range 5 {
		if got := post(req, n); !bytes.HasSuffix(got, fp32(0.25, 0.5, 0.75, 0.875)) {
			t.Fatalf("client got %q; want the live upstream's binary answer", got)
		}
	}
	// Sizes that overrun: counted, and forwarded all the same.
	bad := append([]byte(nil), req[:len(req)-1]...)
	post(bad, n)

	admin := "http://" + r.s.AdminAddr()
	want := []string{
		`driftcar_feature_value_count{feature="age",model="credit-risk",route="predict"} 20`,
		`driftcar_feature_value_sum{feature="age",model="credit-risk",route="predict"} 700`,
		`driftcar_feature_category_total{category="DE",feature="country",model="credit-risk",route="predict"} 10`,
		`driftcar_feature_value_count{feature="__prediction__",model="credit-risk",route="predict"} 20`,
		`driftcar_feature_value_sum{feature="__prediction__",model="credit-risk",route="predict"} 11.875`,
		`driftcar_sampler_invalid_total{model="credit-risk",reason="binary_size",route="predict"} 1`,
		`driftcar_shadow_comparisons_total{model="credit-risk",outcome="match",route="predict"} 18`,
		`driftcar_shadow_comparisons_total{model="credit-risk",outcome="mismatch",route="predict"} 6`,
	}
	body := waitMetrics(t, admin, "sampling and the shadow count every binary row", want...)
	for _, line := range strings.Split(body, "\n") {
		if strings.Contains(line, `outcome="undecodable"`) && !strings.HasSuffix(line, "} 0") {
			t.Errorf("undecodable comparisons: %s", line)
		}
	}
	if a := altered.Load(); a != 2 { // only the bad body differs, at live and shadow
		t.Errorf("%d requests reached an upstream altered; want 2 (the bad body)", a)
	}
}
