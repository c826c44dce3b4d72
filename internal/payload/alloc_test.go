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

// TestAllocationDecodeBinary covers binary tensor bodies in steady state:
// every kind of element, text of numbers for categorical values, and the
// shadow's ResponseDecoder.
func TestAllocationDecodeBinary(t *testing.T) {
	req, n, resp, m := binaryBench(t, 8)
	specs := []FeatureSpec{
		{Name: "f0", Type: Numeric, Tensor: "x"},
		{Name: "f3", Type: Categorical, Tensor: "x", Column: 3},
		{Name: "h", Type: Numeric, Tensor: "half"},
		{Name: "id", Type: Categorical, Tensor: "id"},
		{Name: "s", Type: Categorical, Tensor: "s"},
	}
	for _, pt := range []FeatureType{Numeric, Categorical} {
		d, err := NewDecoder(OpenInferenceV2, specs, &PredictionSpec{Type: pt}, DecoderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		run := func() {
			b, err := d.DecodeBinary(req, n, resp, m)
			if err != nil || b.Rows != 8 || len(b.Predictions) != 8 {
				t.Fatalf("got %d rows, %d predictions, %v", b.Rows, len(b.Predictions), err)
			}
		}
		run()
		if a := testing.AllocsPerRun(200, run); a != 0 {
			t.Fatalf("%s prediction: got %v allocs per decode; want 0", pt, a)
		}
	}
	rd, _ := NewResponseDecoder(OpenInferenceV2, PredictionSpec{Output: "label"}, DecoderOptions{})
	run := func() {
		if ps, err := rd.DecodeBinary(resp, m); err != nil || len(ps) != 8 {
			t.Fatalf("got %d predictions, %v", len(ps), err)
		}
	}
	run()
	if a := testing.AllocsPerRun(200, run); a != 0 {
		t.Fatalf("ResponseDecoder: got %v allocs per decode; want 0", a)
	}
}

// TestAllocationDecodeOpenAIStream: a streamed chat answer is read
// without allocating once the decoder has seen one like it.
func TestAllocationDecodeOpenAIStream(t *testing.T) {
	d, err := NewDecoder(OpenAI, llmFeatures, &PredictionSpec{Type: Categorical}, DecoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req := []byte(`{"model":"m","temperature":0.2,"stream":true,"messages":[{"role":"user","content":"hello"}]}`)
	resp := []byte(chatStream + "data: {\"choices\":[],\"usage\":{\"completion_tokens\":2}}\n\ndata: [DONE]\n\n")
	run := func() {
		if _, err := d.Decode(req, resp); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("got %v allocs per decode; want 0", n)
	}
}
