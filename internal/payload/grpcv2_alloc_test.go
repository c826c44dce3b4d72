//go:build !race

package payload

import "testing"

// TestAllocationModelInfer: decoding gRPC messages does not allocate in
// steady state, raw or typed.
func TestAllocationModelInfer(t *testing.T) {
	specs := []FeatureSpec{
		{Name: "age", Type: Numeric},
		{Name: "income", Type: Categorical, Tensor: "x", Column: 1},
		{Name: "country", Type: Categorical},
	}
	x := pbTensorSpec{name: "x", dt: "FP32", shape: []int64{2, 2}}
	age := pbTensorSpec{name: "age", dt: "INT64", shape: []int64{2}}
	country := pbTensorSpec{name: "country", dt: "BYTES", shape: []int64{2}}
	resp := pbResponse([]pbTensorSpec{{name: "y", dt: "FP32", shape: []int64{2, 3}}}, enc(t, "FP32", 0.1, 0.2, 0.7, 0.5, 0.3, 0.2))
	typedX, typedAge, typedCountry := x, age, country
	typedX.contents = typed(t, "FP32", 1, 2, 3, 4)
	typedAge.contents = typed(t, "INT64", 31, 40)
	typedCountry.contents = typedBytes("fr", "de")
	for name, req := range map[string][]byte{
		"raw":   pbRequest([]pbTensorSpec{x, age, country}, enc(t, "FP32", 1, 2, 3, 4), enc(t, "INT64", 31, 40), rawBytes("fr", "de")),
		"typed": pbRequest([]pbTensorSpec{typedX, typedAge, typedCountry}),
	} {
		t.Run(name, func(t *testing.T) {
			d := newTestDecoder(t, OpenInferenceV2, specs, &PredictionSpec{Type: Categorical})
			if _, err := d.DecodeModelInfer(req, resp); err != nil {
				t.Fatal(err)
			}
			n := testing.AllocsPerRun(100, func() {
				if _, err := d.DecodeModelInfer(req, resp); err != nil {
					t.Fatal(err)
				}
			})
			if n != 0 {
				t.Fatalf("DecodeModelInfer: %v allocations; want 0", n)
			}
		})
	}
}
