//go:build !race

package payload

import "testing"

// TestAllocationDecodeForms covers the other payload forms in steady state.
func TestAllocationDecodeForms(t *testing.T) {
	for _, tc := range []struct {
		name      string
		proto     Protocol
		specs     []FeatureSpec
		pred      *PredictionSpec
		req, resp string
	}{
		{"v1 columns", KServeV1, []FeatureSpec{numAge, catCountry}, &PredictionSpec{Type: Categorical},
			`{"columns": ["country", "age"], "instances": [["fr", 31], ["de", 40]]}`, `{"predictions": [[0.1, 0.9], [0.8, 0.2]]}`},
		{"v1 columnar", KServeV1, []FeatureSpec{numAge, catCountry}, nil, `{"inputs": {"age": [31, 40], "country": ["fr", "d\u00e9"]}}`, ""},
		{"v2 nested", OpenInferenceV2, []FeatureSpec{{Name: "p", Type: Numeric, Tensor: "x", Column: 4}}, &PredictionSpec{Type: Numeric},
			`{"inputs": [{"name": "x", "shape": [2, 2, 3], "datatype": "FP32", "data": [[[0, 1, 2], [3, 4, 5]], [[6, 7, 8], [9, 10, 11]]]}]}`,
			`{"outputs": [{"name": "o", "shape": [2, 2], "datatype": "FP32", "data": [0.1, 0.9, 0.7, 0.3]}]}`},
		{"json paths", JSON, []FeatureSpec{{Name: "f3", Type: Numeric, Path: "data.features[*][3]"}}, &PredictionSpec{Type: Numeric, Path: "scores[*]"},
			`{"data": {"features": [[0, 0, 0, 7], [0, 0, 0, 8]]}}`, `{"scores": [1, 2]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewDecoder(tc.proto, tc.specs, tc.pred, DecoderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			req, resp := []byte(tc.req), []byte(tc.resp)
			run := func() {
				if _, err := d.Decode(req, resp); err != nil {
					t.Fatal(err)
				}
			}
			run()
			if n := testing.AllocsPerRun(200, run); n != 0 {
				t.Fatalf("got %v allocs per decode; want 0", n)
			}
		})
	}
}
