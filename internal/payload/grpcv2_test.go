package payload

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// pbTensorSpec is one tensor of a test ModelInfer message.
type pbTensorSpec struct {
	name, dt string
	shape    []int64
	contents []byte // an InferTensorContents message, or nil
}

// pbMsg encodes a ModelInferRequest (tensorField 5, rawField 7) or a
// ModelInferResponse (5, 6) with id, the tensors and raw contents.
func pbMsg(id string, tensorField, rawField protowire.Number, tensors []pbTensorSpec, raws ...[]byte) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, "model")
	if id != "" {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, id)
	}
	for _, t := range tensors {
		var tb []byte
		tb = protowire.AppendTag(tb, 1, protowire.BytesType)
		tb = protowire.AppendString(tb, t.name)
		tb = protowire.AppendTag(tb, 2, protowire.BytesType)
		tb = protowire.AppendString(tb, t.dt)
		var shape []byte
		for _, d := range t.shape {
			shape = protowire.AppendVarint(shape, uint64(d))
		}
		tb = protowire.AppendTag(tb, 3, protowire.BytesType)
		tb = protowire.AppendBytes(tb, shape)
		// parameters: a map entry, skipped by the decoder
		tb = protowire.AppendTag(tb, 4, protowire.BytesType)
		tb = protowire.AppendBytes(tb, protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "k"))
		if t.contents != nil {
			tb = protowire.AppendTag(tb, 5, protowire.BytesType)
			tb = protowire.AppendBytes(tb, t.contents)
		}
		b = protowire.AppendTag(b, tensorField, protowire.BytesType)
		b = protowire.AppendBytes(b, tb)
	}
	for _, r := range raws {
		b = protowire.AppendTag(b, rawField, protowire.BytesType)
		b = protowire.AppendBytes(b, r)
	}
	return b
}

func pbRequest(tensors []pbTensorSpec, raws ...[]byte) []byte {
	return pbMsg("rid", 5, 7, tensors, raws...)
}

func pbResponse(tensors []pbTensorSpec, raws ...[]byte) []byte {
	return pbMsg("rid", 5, 6, tensors, raws...)
}

// typed encodes vals as the InferTensorContents field of datatype dt,
// packed.
func typed(t *testing.T, dt string, vals ...float64) []byte {
	t.Helper()
	var packed []byte
	var field protowire.Number
	for _, v := range vals {
		switch dt {
		case "BOOL":
			field, packed = 1, protowire.AppendVarint(packed, protowire.EncodeBool(v != 0))
		case "INT8", "INT16", "INT32":
			field, packed = 2, protowire.AppendVarint(packed, uint64(int64(int32(v))))
		case "INT64":
			field, packed = 3, protowire.AppendVarint(packed, uint64(int64(v)))
		case "UINT8", "UINT16", "UINT32":
			field, packed = 4, protowire.AppendVarint(packed, uint64(uint32(v)))
		case "UINT64":
			field, packed = 5, protowire.AppendVarint(packed, uint64(v))
		case "FP32":
			field, packed = 6, protowire.AppendFixed32(packed, math.Float32bits(float32(v)))
		case "FP64":
			field, packed = 7, protowire.AppendFixed64(packed, math.Float64bits(v))
		default:
			t.Fatalf("typed: datatype %s has no typed contents", dt)
		}
	}
	return protowire.AppendBytes(protowire.AppendTag(nil, field, protowire.BytesType), packed)
}

// typedBytes encodes bytes_contents.
func typedBytes(vals ...string) []byte {
	var b []byte
	for _, v := range vals {
		b = protowire.AppendTag(b, 8, protowire.BytesType)
		b = protowire.AppendString(b, v)
	}
	return b
}

// rawBytes encodes BYTES elements in the raw layout.
func rawBytes(vals ...string) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	return b
}

func sameValues(t *testing.T, what string, got, want []Value) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values; want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.Reason != w.Reason || g.Num != w.Num || !bytes.Equal(g.Str, w.Str) {
			t.Errorf("%s: value %d = %+v (%q); want %+v (%q)", what, i, g, g.Str, w, w.Str)
		}
	}
}

// TestModelInferMatchesREST: every datatype, as raw_input_contents and as
// typed contents, decodes to the values the same tensor gives over REST.
func TestModelInferMatchesREST(t *testing.T) {
	specs := []FeatureSpec{
		{Name: "n0", Type: Numeric, Tensor: "x", Column: 0},
		{Name: "c2", Type: Categorical, Tensor: "x", Column: 2},
		{Name: "far", Type: Numeric, Tensor: "x", Column: 3}, // past the row
		{Name: "gone", Type: Numeric},                        // no such tensor
	}
	vals := []float64{0, 1, 2, 3, 4, 5}
	for _, dt := range []string{"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "BF16", "FP32", "FP64"} {
		t.Run(dt, func(t *testing.T) {
			v := vals
			if dt == "BOOL" {
				v = []float64{0, 1, 1, 1, 0, 0}
			}
			var data []string
			for _, x := range v {
				s := fmt.Sprint(x)
				if dt == "BOOL" {
					s = fmt.Sprint(x == 1)
				}
				data = append(data, s)
			}
			rest := `{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "` + dt + `", "data": [` + strings.Join(data, ", ") + `]}]}`
			d := newTestDecoder(t, OpenInferenceV2, specs, nil)
			want, err := d.Decode([]byte(rest), nil)
			if err != nil {
				t.Fatalf("REST: %v", err)
			}
			wantVals := append([]Value(nil), want.Values...)
			for i := range wantVals {
				wantVals[i].Str = bytes.Clone(wantVals[i].Str)
			}

			raw := pbRequest([]pbTensorSpec{{name: "x", dt: dt, shape: []int64{2, 3}}}, enc(t, dt, v...))
			g := newTestDecoder(t, OpenInferenceV2, specs, nil)
			got, err := g.DecodeModelInfer(raw, nil)
			if err != nil {
				t.Fatalf("raw: %v", err)
			}
			if got.Rows != 2 {
				t.Fatalf("raw: %d rows; want 2", got.Rows)
			}
			sameValues(t, "raw", got.Values, wantVals)
			if dt == "FP16" || dt == "BF16" {
				return // no typed contents
			}
			typedReq := pbRequest([]pbTensorSpec{{name: "x", dt: dt, shape: []int64{2, 3}, contents: typed(t, dt, v...)}})
			got, err = g.DecodeModelInfer(typedReq, nil)
			if err != nil {
				t.Fatalf("typed: %v", err)
			}
			sameValues(t, "typed", got.Values, wantVals)
		})
	}
}

func TestModelInferBytesAndUnpacked(t *testing.T) {
	specs := []FeatureSpec{{Name: "country", Type: Categorical}, {Name: "age", Type: Numeric}}
	want := []Value{
		{Kind: ValueString, Str: []byte("fr")}, {Kind: ValueNumber, Num: 31},
		{Kind: ValueString, Str: []byte("de")}, {Kind: ValueNumber, Num: 40},
	}
	// Unpacked int64: one field per element, as old encoders write.
	var unpacked []byte
	for _, x := range []int64{31, 40} {
		unpacked = protowire.AppendTag(unpacked, 3, protowire.VarintType)
		unpacked = protowire.AppendVarint(unpacked, uint64(x))
	}
	for name, req := range map[string][]byte{
		"raw": pbRequest([]pbTensorSpec{{name: "age", dt: "INT64", shape: []int64{2, 1}}, {name: "country", dt: "BYTES", shape: []int64{2, 1}}},
			enc(t, "INT64", 31, 40), rawBytes("fr", "de")),
		"typed": pbRequest([]pbTensorSpec{{name: "age", dt: "INT64", shape: []int64{2}, contents: unpacked}, {name: "country", dt: "BYTES", shape: []int64{2}, contents: typedBytes("fr", "de")}}),
	} {
		t.Run(name, func(t *testing.T) {
			d := newTestDecoder(t, OpenInferenceV2, specs, nil)
			b, err := d.DecodeModelInfer(req, nil)
			if err != nil {
				t.Fatal(err)
			}
			sameValues(t, name, b.Values, want)
		})
	}
}

func TestModelInferPredictions(t *testing.T) {
	y := pbTensorSpec{name: "y", dt: "FP32", shape: []int64{2, 1}}
	scores := pbTensorSpec{name: "scores", dt: "FP64", shape: []int64{2, 3}, contents: typed(t, "FP64", 0.1, 0.7, 0.2, 0.6, 0.3, 0.1)}
	labels := pbTensorSpec{name: "label", dt: "BYTES", shape: []int64{2}}
	tests := []struct {
		name string
		spec PredictionSpec
		resp []byte
		want []string
	}{
		{"first output, raw", PredictionSpec{Type: Numeric}, pbResponse([]pbTensorSpec{y, labels}, enc(t, "FP32", 0.25, 0.5), rawBytes("cat", "dog")), []string{"0.25", "0.5"}},
		{"named output, raw", PredictionSpec{Type: Categorical, Output: "label"}, pbResponse([]pbTensorSpec{y, labels}, enc(t, "FP32", 0.25, 0.5), rawBytes("cat", "dog")), []string{`"cat"`, `"dog"`}},
		{"class scores, typed", PredictionSpec{Type: Categorical, Output: "scores"}, pbResponse([]pbTensorSpec{scores}), []string{"class 1 (score 0.7)", "class 0 (score 0.6)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewResponseDecoder(OpenInferenceV2, tc.spec, DecoderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			preds, err := r.DecodeModelInfer(tc.resp)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i := range preds {
				got = append(got, preds[i].String())
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
	// Through a Decoder: one prediction per request row.
	d := newTestDecoder(t, OpenInferenceV2, []FeatureSpec{{Name: "age", Type: Numeric}}, &PredictionSpec{Type: Numeric})
	req := pbRequest([]pbTensorSpec{{name: "age", dt: "INT32", shape: []int64{2, 1}, contents: typed(t, "INT32", 31, 40)}})
	b, err := d.DecodeModelInfer(req, tests[0].resp)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Predictions) != 2 || b.Predictions[0].Num != 0.25 || b.Predictions[1].Num != 0.5 {
		t.Errorf("predictions = %+v; want 0.25, 0.5", b.Predictions)
	}
	// A response of another row count is counted, never fails the rows.
	one := pbResponse([]pbTensorSpec{{name: "y", dt: "FP32", shape: []int64{1}}}, enc(t, "FP32", 1))
	if b, err = d.DecodeModelInfer(req, one); err != nil || b.Rows != 2 || b.Predictions[0].Reason != ReasonShapeMismatch {
		t.Errorf("mismatched response: rows %d, predictions %+v, %v; want 2 rows with shape_mismatch", b.Rows, b.Predictions, err)
	}
}

func TestModelInferInvalid(t *testing.T) {
	specs := []FeatureSpec{{Name: "x", Type: Numeric}}
	good := pbRequest([]pbTensorSpec{{name: "x", dt: "FP32", shape: []int64{2}}}, enc(t, "FP32", 1, 2))
	tests := []struct {
		name string
		req  []byte
		want Reason
	}{
		{"truncated", good[:len(good)-3], ReasonMalformedProtobuf},
		{"not protobuf", []byte(`{"inputs": []}`), ReasonMalformedProtobuf},
		{"no inputs", pbRequest(nil), ReasonWrongType},
		{"unknown datatype", pbRequest([]pbTensorSpec{{name: "x", dt: "FP8", shape: []int64{2}}}, []byte{1, 2}), ReasonWrongType},
		{"raw size", pbRequest([]pbTensorSpec{{name: "x", dt: "FP32", shape: []int64{3}}}, enc(t, "FP32", 1, 2)), ReasonBinarySize},
		{"raw for some inputs only", pbRequest([]pbTensorSpec{{name: "x", dt: "FP32", shape: []int64{2}}, {name: "z", dt: "FP32", shape: []int64{2}}}, enc(t, "FP32", 1, 2)), ReasonBinarySize},
		{"typed too short", pbRequest([]pbTensorSpec{{name: "x", dt: "FP32", shape: []int64{3}, contents: typed(t, "FP32", 1, 2)}}), ReasonShapeMismatch},
		{"typed in the wrong field", pbRequest([]pbTensorSpec{{name: "x", dt: "FP32", shape: []int64{2}, contents: typed(t, "INT32", 1, 2)}}), ReasonShapeMismatch},
		{"FP16 without raw", pbRequest([]pbTensorSpec{{name: "x", dt: "FP16", shape: []int64{2}}}), ReasonShapeMismatch},
		{"batch sizes differ", pbRequest([]pbTensorSpec{{name: "x", dt: "FP32", shape: []int64{2}}, {name: "z", dt: "FP32", shape: []int64{1}}}, enc(t, "FP32", 1, 2), enc(t, "FP32", 1)), ReasonShapeMismatch},
		{"huge shape", pbRequest([]pbTensorSpec{{name: "x", dt: "FP32", shape: []int64{1 << 31, 1 << 31, 8}}}, enc(t, "FP32", 1)), ReasonShapeMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDecoder(t, OpenInferenceV2, specs, nil)
			b, err := d.DecodeModelInfer(tc.req, nil)
			if r, ok := ReasonOf(err); !ok || r != tc.want {
				t.Fatalf("got %v; want %s", err, tc.want)
			}
			if b.Rows != 0 {
				t.Errorf("%d rows on error", b.Rows)
			}
			if c := d.Counters().Load(); c[tc.want] != 1 {
				t.Errorf("counter %s = %d; want 1", tc.want, c[tc.want])
			}
		})
	}
}

func TestModelInferID(t *testing.T) {
	req := pbRequest([]pbTensorSpec{{name: "x", dt: "FP32", shape: []int64{1}}}, enc(t, "FP32", 1))
	if id, ok := ModelInferID(req); !ok || string(id) != "rid" {
		t.Errorf("ModelInferID = %q, %v; want rid", id, ok)
	}
	if id, ok := ModelInferID(pbMsg("", 5, 7, nil)); ok {
		t.Errorf("no id: got %q", id)
	}
	if _, ok := ModelInferID(req[:len(req)-1]); ok {
		t.Errorf("truncated message: got an id")
	}
}

func newTestDecoder(t *testing.T, proto Protocol, specs []FeatureSpec, pred *PredictionSpec) *Decoder {
	t.Helper()
	d, err := NewDecoder(proto, specs, pred, DecoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}
