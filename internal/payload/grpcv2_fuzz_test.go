package payload

import (
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// FuzzModelInferDecode feeds arbitrary bytes as a ModelInferRequest and a
// ModelInferResponse: decoding never panics, and every result holds the
// Batch invariants.
func FuzzModelInferDecode(f *testing.F) {
	le := func(vals ...float32) []byte { return enc(f, "FP32", toF64(vals)...) }
	x := pbTensorSpec{name: "x", dt: "FP32", shape: []int64{2, 2}}
	c := pbTensorSpec{name: "c", dt: "BYTES", shape: []int64{2}}
	y := pbTensorSpec{name: "y", dt: "FP32", shape: []int64{2, 1}}
	var fp32 []byte
	for _, v := range []float32{1, 2, 3, 4} {
		fp32 = protowire.AppendFixed32(fp32, math.Float32bits(v))
	}
	typedX := x
	typedX.contents = protowire.AppendBytes(protowire.AppendTag(nil, 6, protowire.BytesType), fp32)
	typedC := c
	typedC.contents = typedBytes("fr", "de")
	for _, s := range [][2][]byte{
		{pbRequest([]pbTensorSpec{x, c}, le(1, 2, 3, 4), rawBytes("fr", "de")), pbResponse([]pbTensorSpec{y}, le(0.25, 0.5))},
		{pbRequest([]pbTensorSpec{typedX, typedC}), pbResponse([]pbTensorSpec{{name: "y", dt: "BYTES", shape: []int64{2}, contents: typedBytes("a", "b")}})},
		{pbRequest([]pbTensorSpec{{name: "x", dt: "FP16", shape: []int64{2, 2}}}, []byte{0, 60, 0, 64, 0, 66, 0, 68}), nil},
		{[]byte{0x2a, 0x02, 0x1a, 0xff}, []byte{0x0a}},
	} {
		f.Add(s[0], s[1])
	}
	specs := []FeatureSpec{
		{Name: "x0", Type: Numeric, Tensor: "x"},
		{Name: "x1", Type: Categorical, Tensor: "x", Column: 1},
		{Name: "c", Type: Categorical},
	}
	d, err := NewDecoder(OpenInferenceV2, specs, &PredictionSpec{Type: Categorical}, DecoderOptions{MaxRows: 64})
	if err != nil {
		f.Fatal(err)
	}
	r, err := NewResponseDecoder(OpenInferenceV2, PredictionSpec{Type: Numeric, Output: "y"}, DecoderOptions{MaxRows: 64})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, req, resp []byte) {
		b, err := d.DecodeModelInfer(req, resp)
		checkBatch(t, d, b, err)
		if b.Rows > 64 {
			t.Fatalf("%d rows past MaxRows 64", b.Rows)
		}
		preds, err := r.DecodeModelInfer(resp)
		if err != nil {
			if _, ok := ReasonOf(err); !ok {
				t.Fatalf("error %v is not a *ReasonError", err)
			}
			return
		}
		if len(preds) > 64 {
			t.Fatalf("%d predictions past MaxRows 64", len(preds))
		}
		_, _ = ModelInferID(req)
	})
}

func toF64(vals []float32) []float64 {
	out := make([]float64, len(vals))
	for i, v := range vals {
		out[i] = float64(v)
	}
	return out
}
