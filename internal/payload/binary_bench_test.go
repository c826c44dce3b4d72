package payload

import (
	"fmt"
	"strings"
	"testing"
)

// binaryBench returns a binary request of rows rows: "x" FP32 [rows, 20],
// "half" FP16 [rows], "id" INT64 [rows], "s" BYTES [rows]; and a binary
// response: "scores" FP32 [rows, 3] and "label" INT64 [rows, 1].
func binaryBench(t testing.TB, rows int) (req []byte, reqLen int, resp []byte, respLen int) {
	var x, h, id, sc, lab []float64
	var s []string
	for r := range rows {
		for c := range 20 {
			x = append(x, float64(r*20+c)/8)
		}
		h = append(h, float64(r)+0.5)
		id = append(id, float64(1000+r))
		s = append(s, fmt.Sprintf("cat-%d", r%3))
		sc = append(sc, 0.1, 0.2+float64(r%2)/2, 0.3)
		lab = append(lab, float64(r%3))
	}
	xb, hb, ib, sb := enc(t, "FP32", x...), enc(t, "FP16", h...), enc(t, "INT64", id...), strs(s...)
	dim := fmt.Sprint(rows)
	req, reqLen = binBody(`{"inputs": [`+input("x", "FP32", "["+dim+", 20]", len(xb))+`, `+
		input("half", "FP16", "["+dim+"]", len(hb))+`, `+input("id", "INT64", "["+dim+"]", len(ib))+`, `+
		input("s", "BYTES", "["+dim+"]", len(sb))+`]}`, xb, hb, ib, sb)
	scb, lb := enc(t, "FP32", sc...), enc(t, "INT64", lab...)
	resp, respLen = binBody(`{"outputs": [`+input("scores", "FP32", "["+dim+", 3]", len(scb))+`, `+
		input("label", "INT64", "["+dim+", 1]", len(lb))+`]}`, scb, lb)
	return req, reqLen, resp, respLen
}

// jsonOf is the JSON form of a v2 tensor.
func jsonOf(name, dt string, shape string, vals []string) string {
	return `{"name": "` + name + `", "datatype": "` + dt + `", "shape": ` + shape + `, "data": [` + strings.Join(vals, ", ") + `]}`
}

// jsonBench is the JSON body of binaryBench's "x" tensor and "scores"
// output.
func jsonBench(rows int) (req, resp []byte) {
	var x, sc []string
	for r := range rows {
		for c := range 20 {
			x = append(x, fmt.Sprint(float64(r*20+c)/8))
		}
		sc = append(sc, "0.1", fmt.Sprint(0.2+float64(r%2)/2), "0.3")
	}
	dim := fmt.Sprint(rows)
	return []byte(`{"inputs": [` + jsonOf("x", "FP32", "["+dim+", 20]", x) + `]}`),
		[]byte(`{"outputs": [` + jsonOf("scores", "FP32", "["+dim+", 3]", sc) + `]}`)
}

// BenchmarkDecodeV2 decodes 20 numeric features of a [64, 20] FP32 tensor
// and class scores of a [64, 3] output, as JSON and as binary tensors.
func BenchmarkDecodeV2(b *testing.B) {
	var specs []FeatureSpec
	for c := range 20 {
		specs = append(specs, FeatureSpec{Name: fmt.Sprintf("f%d", c), Type: Numeric, Tensor: "x", Column: c})
	}
	pred := &PredictionSpec{Type: Categorical}
	jreq, jresp := jsonBench(64)
	breq, n, bresp, m := binaryBench(b, 64)
	for _, tc := range []struct {
		name       string
		req, resp  []byte
		reqH, resH int
	}{
		{"json", jreq, jresp, JSONBody, JSONBody},
		{"binary", breq, bresp, n, m},
	} {
		b.Run(tc.name, func(b *testing.B) {
			d, err := NewDecoder(OpenInferenceV2, specs, pred, DecoderOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(tc.req) + len(tc.resp)))
			b.ReportAllocs()
			for b.Loop() {
				bt, err := d.DecodeBinary(tc.req, tc.reqH, tc.resp, tc.resH)
				if err != nil || bt.Rows != 64 || len(bt.Predictions) != 64 {
					b.Fatalf("got %d rows, %v", bt.Rows, err)
				}
			}
		})
	}
}
