package payload

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// show renders a value compactly: 1.5, "x", - (missing), ? (absent),
// !reason (invalid).
func show(v Value) string {
	switch v.Kind {
	case ValueNumber:
		return strconv.FormatFloat(v.Num, 'g', -1, 64)
	case ValueString:
		return strconv.Quote(string(v.Str))
	case ValueInvalid:
		return "!" + v.Reason.String()
	}
	if v.Reason == ReasonMissingFeature {
		return "?"
	}
	return "-"
}

func showBatch(b *Batch) (rows []string, preds string) {
	for r := 0; r < b.Rows; r++ {
		var parts []string
		for _, v := range b.Row(r) {
			parts = append(parts, show(v))
		}
		rows = append(rows, strings.Join(parts, " "))
	}
	var ps []string
	for _, v := range b.Predictions {
		ps = append(ps, show(v))
	}
	return rows, strings.Join(ps, " ")
}

var (
	numAge     = FeatureSpec{Name: "age", Type: Numeric}
	catCountry = FeatureSpec{Name: "country", Type: Categorical}
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		proto   Protocol
		specs   []FeatureSpec
		pred    *PredictionSpec
		req     string
		resp    string
		want    []string // rows
		preds   string
		invalid map[Reason]uint64
	}{
		{
			name:  "v1 object rows batch",
			proto: KServeV1, specs: []FeatureSpec{numAge, catCountry},
			pred:  &PredictionSpec{Type: Numeric},
			req:   `{"instances": [{"age": 31, "country": "fr"}, {"country": "de", "age": 40.5}, {"age": null, "country": "us"}]}`,
			resp:  `{"predictions": [0.25, 0.5, 1e-3]}`,
			want:  []string{`31 "fr"`, `40.5 "de"`, `- "us"`},
			preds: "0.25 0.5 0.001",
		},
		{
			name:  "v1 array rows with columns",
			proto: KServeV1, specs: []FeatureSpec{numAge, catCountry},
			req:  `{"columns": ["country", "x", "age"], "instances": [["fr", 1, 31], ["de", 2, 40]]}`,
			want: []string{`31 "fr"`, `40 "de"`},
		},
		{
			name:  "v1 array rows by position",
			proto: KServeV1, specs: []FeatureSpec{numAge, catCountry},
			req:  `{"instances": [[31, "fr"], [40, "de"]]}`,
			want: []string{`31 "fr"`, `40 "de"`},
		},
		{
			name:  "v1 scalar rows for one feature",
			proto: KServeV1, specs: []FeatureSpec{numAge},
			req:  `{"instances": [1, 2.5, -3]}`,
			want: []string{"1", "2.5", "-3"},
		},
		{
			name:  "v1 columnar inputs",
			proto: KServeV1, specs: []FeatureSpec{numAge, catCountry},
			pred:  &PredictionSpec{Type: Categorical},
			req:   `{"inputs": {"age": [31, 40], "country": ["fr", "d\u00e9"]}}`,
			resp:  `{"predictions": ["yes", "no"]}`,
			want:  []string{`31 "fr"`, `40 "dé"`},
			preds: `"yes" "no"`,
		},
		{
			name:  "v1 inputs as rows",
			proto: KServeV1, specs: []FeatureSpec{numAge, catCountry},
			req:  `{"inputs": [{"age": 1, "country": "a"}]}`,
			want: []string{`1 "a"`},
		},
		{
			name:  "v1 class scores argmax and max score",
			proto: KServeV1, specs: []FeatureSpec{numAge},
			pred:  &PredictionSpec{Type: Categorical, Labels: []string{"cat", "dog", "eel"}},
			req:   `{"instances": [{"age": 1}, {"age": 2}]}`,
			resp:  `{"predictions": [[0.1, 0.7, 0.2], [0.5, 0.1, 0.4]]}`,
			want:  []string{"1", "2"},
			preds: `"dog" "cat"`,
		},
		{
			name:  "v1 class scores max score numeric",
			proto: KServeV1, specs: []FeatureSpec{numAge},
			pred:    &PredictionSpec{Type: Numeric},
			req:     `{"instances": [{"age": 1}, {"age": 2}]}`,
			resp:    `{"predictions": [[0.1, 0.7, 0.2], [0.9, "a"]]}`,
			want:    []string{"1", "2"},
			preds:   "0.7 !wrong_type",
			invalid: map[Reason]uint64{ReasonWrongType: 1},
		},
		{
			name:  "v1 class index label without names",
			proto: KServeV1, specs: []FeatureSpec{numAge},
			pred:  &PredictionSpec{Type: Categorical},
			req:   `{"instances": [{"age": 1}]}`,
			resp:  `{"predictions": [[0.1, 0.2, 0.3, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9]]}`,
			want:  []string{"1"},
			preds: `"11"`,
		},
		{
			name:  "v1 numbers and bools for categorical, bools for numeric",
			proto: KServeV1, specs: []FeatureSpec{{Name: "flag", Type: Numeric}, {Name: "code", Type: Categorical}},
			req:  `{"instances": [{"flag": true, "code": 7}, {"flag": false, "code": true}]}`,
			want: []string{`1 "7"`, `0 "true"`},
		},
		{
			name:  "v1 path override",
			proto: KServeV1, specs: []FeatureSpec{numAge, {Name: "income", Type: Numeric, Path: "instances[*].meta.income"}},
			req:     `{"instances": [{"age": 1, "meta": {"income": 10}}, {"age": 2, "meta": {}}]}`,
			want:    []string{"1 10", "2 ?"},
			invalid: map[Reason]uint64{ReasonMissingFeature: 1},
		},
		{
			name:  "v2 named tensors",
			proto: OpenInferenceV2, specs: []FeatureSpec{numAge, catCountry},
			pred: &PredictionSpec{Type: Numeric},
			req: `{"id": "1", "inputs": [
				{"name": "country", "shape": [2], "datatype": "BYTES", "data": ["fr", "de"]},
				{"name": "age", "shape": [2, 1], "datatype": "FP32", "data": [31, 40]}]}`,
			resp:  `{"model_name": "m", "outputs": [{"name": "out", "shape": [2], "datatype": "FP32", "data": [0.2, 0.8]}]}`,
			want:  []string{`31 "fr"`, `40 "de"`},
			preds: "0.2 0.8",
		},
		{
			name:  "v2 column of a [N,k] tensor",
			proto: OpenInferenceV2,
			specs: []FeatureSpec{{Name: "a", Type: Numeric, Tensor: "input_0", Column: 0}, {Name: "d", Type: Numeric, Tensor: "input_0", Column: 3}},
			req:   `{"inputs": [{"name": "input_0", "shape": [2, 4], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6, 7, 8]}]}`,
			want:  []string{"1 4", "5 8"},
		},
		{
			name:  "v2 multi-dimensional tensor, nested data",
			proto: OpenInferenceV2,
			specs: []FeatureSpec{{Name: "p0", Type: Numeric, Tensor: "pixels", Column: 0}, {Name: "p5", Type: Numeric, Tensor: "pixels", Column: 5}},
			pred:  &PredictionSpec{Type: Categorical, Output: "probs"},
			req:   `{"inputs": [{"name": "pixels", "shape": [2, 2, 3], "datatype": "FP32", "data": [[[0, 1, 2], [3, 4, 5]], [[6, 7, 8], [9, 10, 11]]]}]}`,
			resp: `{"outputs": [{"name": "other", "shape": [2], "datatype": "INT64", "data": [1, 1]},
				{"name": "probs", "shape": [2, 3], "datatype": "FP32", "data": [0.1, 0.8, 0.1, 0.6, 0.3, 0.1]}]}`,
			want:  []string{"0 5", "6 11"},
			preds: `"1" "0"`,
		},
		{
			name:  "v2 missing tensor",
			proto: OpenInferenceV2, specs: []FeatureSpec{numAge, catCountry},
			req:     `{"inputs": [{"name": "age", "shape": [1], "datatype": "FP32", "data": [3]}]}`,
			want:    []string{`3 ?`},
			invalid: map[Reason]uint64{ReasonMissingFeature: 1},
		},
		{
			name:  "json paths",
			proto: JSON,
			specs: []FeatureSpec{
				{Name: "income", Type: Numeric, Path: "instances[*].income"},
				{Name: "f3", Type: Numeric, Path: "data.features[*][3]"},
				{Name: "region", Type: Categorical, Path: `$.meta["the region"]`},
			},
			pred:  &PredictionSpec{Type: Numeric, Path: "result.scores[*].p"},
			req:   `{"instances": [{"income": 1}, {"income": 2}], "data": {"features": [[0, 0, 0, 7], [0, 0, 0, 8]]}, "meta": {"the region": "eu"}}`,
			resp:  `{"result": {"scores": [{"p": 0.1}, {"p": 0.9}]}}`,
			want:  []string{`1 7 "eu"`, `2 8 "eu"`},
			preds: "0.1 0.9",
		},
		{
			name:  "escaped keys and values",
			proto: KServeV1, specs: []FeatureSpec{{Name: `a"b`, Type: Categorical}},
			req:  `{"instances": [{"a\"b": "x\ny\u00e9\ud83d\ude00"}]}`,
			want: []string{strconv.Quote("x\nyé😀")},
		},
		// One case per invalid-input reason.
		{
			name:  "reason malformed_json",
			proto: KServeV1, specs: []FeatureSpec{numAge},
			req:     `{"instances": [{"age": 1}]`,
			invalid: map[Reason]uint64{ReasonMalformedJSON: 1},
		},
		{
			name:  "reason wrong_type value",
			proto: KServeV1, specs: []FeatureSpec{numAge, catCountry},
			req:     `{"instances": [{"age": "31", "country": {"x": 1}}]}`,
			want:    []string{"!wrong_type !wrong_type"},
			invalid: map[Reason]uint64{ReasonWrongType: 2},
		},
		{
			name:  "reason wrong_type document",
			proto: KServeV1, specs: []FeatureSpec{numAge},
			req:     `{"instancez": []}`,
			invalid: map[Reason]uint64{ReasonWrongType: 1},
		},
		{
			name:  "reason nan_inf",
			proto: KServeV1, specs: []FeatureSpec{numAge, {Name: "b", Type: Numeric}, {Name: "c", Type: Numeric}, {Name: "d", Type: Numeric}},
			req:     `{"instances": [{"age": NaN, "b": Infinity, "c": -Infinity, "d": 1e999}]}`,
			want:    []string{"!nan_inf !nan_inf !nan_inf !nan_inf"},
			invalid: map[Reason]uint64{ReasonNaNInf: 4},
		},
		{
			name:  "reason shape_mismatch v2 data length",
			proto: OpenInferenceV2, specs: []FeatureSpec{numAge},
			req:     `{"inputs": [{"name": "age", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3]}]}`,
			invalid: map[Reason]uint64{ReasonShapeMismatch: 1},
		},
		{
			name:  "reason shape_mismatch v2 batch sizes",
			proto: OpenInferenceV2, specs: []FeatureSpec{numAge, catCountry},
			req: `{"inputs": [{"name": "age", "shape": [2], "datatype": "FP32", "data": [1, 2]},
				{"name": "country", "shape": [1], "datatype": "BYTES", "data": ["x"]}]}`,
			invalid: map[Reason]uint64{ReasonShapeMismatch: 1},
		},
		{
			name:  "reason shape_mismatch v1 columnar",
			proto: KServeV1, specs: []FeatureSpec{numAge, catCountry},
			req:     `{"inputs": {"age": [1, 2], "country": ["x"]}}`,
			invalid: map[Reason]uint64{ReasonShapeMismatch: 1},
		},
		{
			name:  "reason shape_mismatch predictions",
			proto: KServeV1, specs: []FeatureSpec{numAge},
			pred:    &PredictionSpec{Type: Numeric},
			req:     `{"instances": [{"age": 1}, {"age": 2}]}`,
			resp:    `{"predictions": [0.5]}`,
			want:    []string{"1", "2"},
			preds:   "!shape_mismatch !shape_mismatch",
			invalid: map[Reason]uint64{ReasonShapeMismatch: 1},
		},
		{
			name:  "reason too_deep",
			proto: KServeV1, specs: []FeatureSpec{numAge},
			req:     `{"instances": [{"age": ` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}]}`,
			invalid: map[Reason]uint64{ReasonTooDeep: 1},
		},
		{
			name:  "reason missing_feature",
			proto: KServeV1, specs: []FeatureSpec{numAge, catCountry},
			req:     `{"instances": [{"age": 1}, {"country": "x"}]}`,
			want:    []string{`1 ?`, `? "x"`},
			invalid: map[Reason]uint64{ReasonMissingFeature: 2},
		},
		{
			name:  "malformed response keeps rows",
			proto: KServeV1, specs: []FeatureSpec{numAge},
			pred:    &PredictionSpec{Type: Numeric},
			req:     `{"instances": [{"age": 1}]}`,
			resp:    `{"predictions": [0.5`,
			want:    []string{"1"},
			preds:   "!malformed_json",
			invalid: map[Reason]uint64{ReasonMalformedJSON: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewDecoder(tc.proto, tc.specs, tc.pred, DecoderOptions{})
			if err != nil {
				t.Fatalf("NewDecoder: %v", err)
			}
			// Decode twice: the second run uses the warmed scratch state
			// and hints and must give the same result.
			for pass := 0; pass < 2; pass++ {
				b, err := d.Decode([]byte(tc.req), []byte(tc.resp))
				rows, preds := showBatch(b)
				if err != nil && len(tc.want) > 0 {
					t.Fatalf("Decode: %v", err)
				}
				if strings.Join(rows, " | ") != strings.Join(tc.want, " | ") {
					t.Fatalf("pass %d: got rows %q; want %q", pass, rows, tc.want)
				}
				if preds != tc.preds {
					t.Fatalf("pass %d: got predictions %q; want %q", pass, preds, tc.preds)
				}
			}
			got := d.Counters().Load()
			for r := Reason(0); r < NumReasons; r++ {
				if got[r] != 2*tc.invalid[r] {
					t.Errorf("invalid[%s] = %d after two decodes; want %d", r, got[r], 2*tc.invalid[r])
				}
			}
		})
	}
}

func TestDecodeErrorsAreSentinels(t *testing.T) {
	d, err := NewDecoder(KServeV1, []FeatureSpec{numAge}, nil, DecoderOptions{MaxDepth: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		body string
		want error
	}{
		{`nope`, ErrMalformedJSON},
		{`{"instances": [[[[1]]]]}`, ErrTooDeep},
		{`[1]`, ErrWrongType},
	} {
		_, err := d.Decode([]byte(tc.body), nil)
		if !errors.Is(err, tc.want) {
			t.Errorf("Decode(%s) = %v; want %v", tc.body, err, tc.want)
		}
		var want *ReasonError
		if !errors.As(tc.want, &want) {
			t.Fatalf("%v is not a *ReasonError", tc.want)
		}
		if r, ok := ReasonOf(err); !ok || r != want.Reason {
			t.Errorf("ReasonOf(%v) = %v, %v", err, r, ok)
		}
	}
}

func TestNewDecoderErrors(t *testing.T) {
	tests := []struct {
		name  string
		proto Protocol
		specs []FeatureSpec
		pred  *PredictionSpec
		want  string
	}{
		{"no name", KServeV1, []FeatureSpec{{Type: Numeric}}, nil, "features[0]: empty name"},
		{"dup", KServeV1, []FeatureSpec{numAge, numAge}, nil, `duplicate name "age"`},
		{"type", KServeV1, []FeatureSpec{{Name: "x"}}, nil, "type: must be"},
		{"tensor on v1", KServeV1, []FeatureSpec{{Name: "x", Type: Numeric, Tensor: "t"}}, nil, "tensor: protocol kserve-v1 has no tensors"},
		{"bad path", JSON, []FeatureSpec{{Name: "x", Type: Numeric, Path: "a[*].b[*]"}}, nil, "more than one [*]"},
		{"bad index", JSON, []FeatureSpec{{Name: "x", Type: Numeric, Path: "a[-1]"}}, nil, "bad index"},
		{"json pred without path", JSON, []FeatureSpec{{Name: "x", Type: Numeric, Path: "x"}}, &PredictionSpec{Type: Numeric}, "path: required with protocol json"},
		{"output on v1", KServeV1, nil, &PredictionSpec{Type: Numeric, Output: "y"}, "output: protocol kserve-v1 has no tensors"},
		{"bad pred path", KServeV1, nil, &PredictionSpec{Type: Numeric, Path: "a..b"}, "prediction: path:"},
		{"protocol", Protocol(9), nil, nil, "unknown protocol"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewDecoder(tc.proto, tc.specs, tc.pred, DecoderOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want error containing %q", err, tc.want)
			}
		})
	}
}

func TestParseNumber(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "12345678901234567", "0.1", "-2.5e-3", "1E+2", "123.456789012345678", "9007199254740993", "1e-320", "0.000001"} {
		got, ok := parseNumber([]byte(s))
		want, err := strconv.ParseFloat(s, 64)
		if !ok || err != nil || got != want {
			t.Errorf("parseNumber(%s) = %v, %v; want %v", s, got, ok, want)
		}
	}
	if _, ok := parseNumber([]byte("1e400")); ok {
		t.Error("parseNumber(1e400) ok; want overflow")
	}
}
