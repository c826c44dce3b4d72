package payload

import (
	"bytes"
	"encoding/json"
	"testing"
)

// checkBatch checks the invariants every Decode result must hold.
func checkBatch(t *testing.T, d *Decoder, b *Batch, err error) {
	t.Helper()
	if err != nil {
		if _, ok := ReasonOf(err); !ok {
			t.Fatalf("Decode error %v is not a *ReasonError", err)
		}
		if b.Rows != 0 {
			t.Fatalf("Decode failed with %d rows", b.Rows)
		}
		return
	}
	if len(b.Values) != b.Rows*b.Features || b.Features != len(d.feats) {
		t.Fatalf("batch of %d rows x %d features has %d values", b.Rows, b.Features, len(b.Values))
	}
	if len(b.Predictions) != 0 && len(b.Predictions) != b.Rows {
		t.Fatalf("%d predictions for %d rows", len(b.Predictions), b.Rows)
	}
	for _, v := range append(b.Values[:len(b.Values):len(b.Values)], b.Predictions...) {
		switch v.Kind {
		case ValueNumber:
			if !isFinite(v.Num) {
				t.Fatalf("number value %v is not finite", v.Num)
			}
		case ValueInvalid:
			if v.Reason >= NumReasons {
				t.Fatalf("bad reason %d", v.Reason)
			}
		}
	}
}

// checkParser compares the scanner's verdict with encoding/json on input
// without the NaN/Infinity extension.
func checkParser(t *testing.T, body []byte) {
	t.Helper()
	if bytes.Contains(body, []byte("NaN")) || bytes.Contains(body, []byte("Infinity")) {
		return
	}
	tp := tape{maxDepth: 1 << 20}
	ours := tp.parse(body) == parseOK
	if std := json.Valid(body); ours != std {
		t.Fatalf("scanner says valid=%v, encoding/json says %v for %q", ours, std, body)
	}
}

func FuzzDecodeV1(f *testing.F) {
	for _, s := range [][2]string{
		{`{"instances": [{"f0": 31, "c0": "fr"}, {"c0": "de", "f0": 40.5}]}`, `{"predictions": [0.25, 0.5]}`},
		{`{"columns": ["c0", "f0"], "instances": [["fr", 31], ["de", 40]]}`, `{"predictions": [[0.1, 0.9], [0.2, 0.8]]}`},
		{`{"inputs": {"f0": [31, 40], "c0": ["fr", "d\u00e9"]}}`, `{"predictions": ["a", "b"]}`},
		{`{"instances": [{"f0": NaN, "f1": -Infinity, "f2": 1e999, "c0": {"x": 1}}]}`, ``},
		{`{"instances": [[[[[[[[1]]]]]]]]}`, `{"predictions": [`},
		{`{"instances": [{"a\"b": "x\ny\ud83d\ude00"}]}`, `[]`},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	specs, pred := benchSpecs()
	f.Fuzz(func(t *testing.T, req, resp []byte) {
		d, err := NewDecoder(KServeV1, specs, pred, DecoderOptions{MaxRows: 100})
		if err != nil {
			t.Fatal(err)
		}
		b, err := d.Decode(req, resp)
		checkBatch(t, d, b, err)
		checkParser(t, req)
		checkParser(t, resp)
	})
}

func FuzzDecodeV2(f *testing.F) {
	for _, s := range [][2]string{
		{`{"inputs": [{"name": "f0", "shape": [2], "datatype": "FP32", "data": [1, 2]}, {"name": "t", "shape": [2, 3], "datatype": "FP32", "data": [1, 2, 3, 4, 5, 6]}]}`,
			`{"outputs": [{"name": "o", "shape": [2, 2], "datatype": "FP32", "data": [0.1, 0.9, 0.7, 0.3]}]}`},
		{`{"inputs": [{"name": "t", "shape": [2, 2, 3], "datatype": "FP32", "data": [[[0, 1, 2], [3, 4, 5]], [[6, 7, 8], [9, 10, 11]]]}]}`, ``},
		{`{"inputs": [{"name": "c0", "shape": [1], "datatype": "BYTES", "data": ["x"]}]}`, `{"outputs": []}`},
		{`{"inputs": [{"name": "f0", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3]}]}`, ``},
		{`{"inputs": [{"name": "f0", "shape": [4294967296, 4294967296], "data": []}]}`, ``},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	specs, pred := benchSpecs()
	specs = append(specs[:len(specs):len(specs)], FeatureSpec{Name: "t2", Type: Numeric, Tensor: "t", Column: 2})
	pred = &PredictionSpec{Name: pred.Name, Type: Categorical}
	f.Fuzz(func(t *testing.T, req, resp []byte) {
		d, err := NewDecoder(OpenInferenceV2, specs, pred, DecoderOptions{MaxRows: 100})
		if err != nil {
			t.Fatal(err)
		}
		b, err := d.Decode(req, resp)
		checkBatch(t, d, b, err)
		checkParser(t, req)
	})
}

func FuzzDecodeJSONPath(f *testing.F) {
	for _, s := range [][2]string{
		{`{"instances": [{"income": 1}, {"income": 2}], "data": {"features": [[0, 0, 0, 7], [0, 0, 0, 8]]}, "meta": {"the region": "eu"}}`, `{"result": {"scores": [{"p": 0.1}, {"p": 0.9}]}}`},
		{`{"data": {"features": [1, 2]}}`, `{"result": {"scores": 1}}`},
		{`{"instances": null}`, `null`},
		{`  "x"  `, ` 12 `},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	specs := []FeatureSpec{
		{Name: "income", Type: Numeric, Path: "instances[*].income"},
		{Name: "f3", Type: Numeric, Path: "data.features[*][3]"},
		{Name: "region", Type: Categorical, Path: `$.meta["the region"]`},
	}
	pred := &PredictionSpec{Type: Numeric, Path: "result.scores[*].p"}
	f.Fuzz(func(t *testing.T, req, resp []byte) {
		d, err := NewDecoder(JSON, specs, pred, DecoderOptions{MaxRows: 100})
		if err != nil {
			t.Fatal(err)
		}
		b, err := d.Decode(req, resp)
		checkBatch(t, d, b, err)
		checkParser(t, req)
	})
}

func FuzzDecodeBinary(f *testing.F) {
	req, n, resp, m := binaryBench(f, 2)
	f.Add(req, n, resp, m)
	f.Add(req, n-1, resp, len(resp))
	f.Add(req, n, resp[:len(resp)-1], m)
	f.Add(req[:len(req)-3], n, resp, JSONBody)
	x := strs("ab", "c")
	bad, bn := binBody(`{"inputs": [`+input("s", "BYTES", "[2]", len(x))+`, {"name": "x", "datatype": "FP16", "shape": [2], "data": [1, 2]}]}`, x)
	f.Add(bad, bn, []byte(`{"outputs": [{"name": "o", "shape": [2], "datatype": "FP32", "data": [1, 2]}]}`), JSONBody)
	f.Add(bad, BadHeaderLength, []byte{}, 0)
	specs := []FeatureSpec{
		{Name: "x", Type: Numeric, Column: 19},
		{Name: "xc", Type: Categorical, Tensor: "x", Column: 1},
		{Name: "half", Type: Numeric},
		{Name: "id", Type: Categorical},
		{Name: "s", Type: Categorical},
		{Name: "sn", Type: Numeric, Tensor: "s"},
	}
	f.Fuzz(func(t *testing.T, req []byte, reqLen int, resp []byte, respLen int) {
		for _, pred := range []*PredictionSpec{{Type: Categorical}, {Type: Numeric, Output: "label"}} {
			d, err := NewDecoder(OpenInferenceV2, specs, pred, DecoderOptions{MaxRows: 100})
			if err != nil {
				t.Fatal(err)
			}
			b, err := d.DecodeBinary(req, reqLen, resp, respLen)
			checkBatch(t, d, b, err)
			rd, _ := NewResponseDecoder(OpenInferenceV2, *pred, DecoderOptions{MaxRows: 100})
			if ps, err := rd.DecodeBinary(resp, respLen); err != nil && len(ps) != 0 {
				t.Fatalf("%d predictions with error %v", len(ps), err)
			}
		}
	})
}
