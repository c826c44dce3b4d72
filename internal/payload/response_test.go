package payload

import (
	"testing"
)

// TestResponseDecoder covers each way a response states its predictions,
// and checks that the sampler's Decoder reduces the same predictions.
func TestResponseDecoder(t *testing.T) {
	v2 := `{"outputs":[{"name":"label","shape":[2],"datatype":"BYTES","data":["yes","no"]},{"name":"p","shape":[2,2],"datatype":"FP32","data":[0.1,0.9,0.8,0.2]}]}`
	tests := []struct {
		name   string
		proto  Protocol
		spec   PredictionSpec
		body   string
		want   []string // Prediction.String of each row
		reqRow int      // rows of the request, for the sampler
	}{
		{"v1 predictions", KServeV1, PredictionSpec{}, `{"predictions":[0.5,[0.25],[0.1,0.7,0.2],"cat",true,null]}`,
			[]string{"0.5", "0.25", "class 1 (score 0.7)", `"cat"`, `"true"`, "missing"}, 6},
		{"v1 outputs stand in", KServeV1, PredictionSpec{}, `{"outputs":[1,2]}`, []string{"1", "2"}, 2},
		{"v1 NaN", KServeV1, PredictionSpec{}, `{"predictions":[NaN]}`, []string{"invalid (nan_inf)"}, 1},
		{"v2 first output", OpenInferenceV2, PredictionSpec{}, v2, []string{`"yes"`, `"no"`}, 2},
		{"v2 named output", OpenInferenceV2, PredictionSpec{Output: "p"}, v2, []string{"class 1 (score 0.9)", "class 0 (score 0.8)"}, 2},
		{"path with [*]", KServeV1, PredictionSpec{Path: "predictions[*].score"}, `{"predictions":[{"score":1},{"x":2}]}`, []string{"1", "missing"}, 2},
		{"path to an array", JSON, PredictionSpec{Path: "result.scores"}, `{"result":{"scores":[0.1,0.9]}}`, []string{"0.1", "0.9"}, 2},
		{"path to a scalar", JSON, PredictionSpec{Path: "results[1].score"}, `{"results":[{"score":1},{"score":0.5}]}`, []string{"0.5"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewResponseDecoder(tc.proto, tc.spec, DecoderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			preds, err := r.Decode([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i := range preds {
				got = append(got, preds[i].String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %q; want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("row %d: got %s; want %s", i, got[i], tc.want[i])
				}
			}
			// The sampler's view of the same body, as a categorical.
			spec := tc.spec
			spec.Type = Categorical
			d, err := NewDecoder(tc.proto, []FeatureSpec{{Name: "x", Type: Numeric, Path: "x[*]"}}, &spec, DecoderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			req := `{"x":[` + repeat("1", tc.reqRow) + `]}`
			b, err := d.Decode([]byte(req), []byte(tc.body))
			if err != nil || len(b.Predictions) != len(preds) {
				t.Fatalf("sampler: %v, %d predictions; want %d", err, len(b.Predictions), len(preds))
			}
			for i, p := range preds {
				v := b.Predictions[i]
				switch p.Kind {
				case PredictionScores:
					if string(v.Str) != string(rune('0'+p.Class)) {
						t.Errorf("row %d: sampler class %q; want %d", i, v.Str, p.Class)
					}
				case PredictionNumber, PredictionLabel, PredictionBool:
					if string(v.Str) != string(p.Text) {
						t.Errorf("row %d: sampler %q; want %q", i, v.Str, p.Text)
					}
				case PredictionMissing:
					if v.Kind != ValueMissing {
						t.Errorf("row %d: sampler %+v; want missing", i, v)
					}
				case PredictionInvalid:
					if v.Kind != ValueInvalid || v.Reason != p.Reason {
						t.Errorf("row %d: sampler %+v; want invalid %v", i, v, p.Reason)
					}
				}
			}
		})
	}
}

func repeat(s string, n int) string {
	out := s
	for range n - 1 {
		out += "," + s
	}
	return out
}

// TestRegisteredProtocol: a protocol written against the exported Node
// view decodes features and predictions like a built-in one.
func TestRegisteredProtocol(t *testing.T) {
	proto := Register(ProtocolInfo{Name: "pairs-test", Codec: pairsTest{}})
	if p, err := ParseProtocol("pairs-test"); err != nil || p != proto || proto.String() != "pairs-test" {
		t.Fatalf("ParseProtocol = %v, %v", p, err)
	}
	d, err := NewDecoder(proto, []FeatureSpec{{Name: "a", Type: Numeric}, {Name: "b", Type: Categorical}}, &PredictionSpec{Type: Numeric}, DecoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.Decode([]byte(`{"pairs":[[1,"x"],[2,"y"]]}`), []byte(`{"out":[0.5,0.75]}`))
	if err != nil {
		t.Fatal(err)
	}
	if b.Rows != 2 || b.Row(1)[0].Num != 2 || string(b.Row(1)[1].Str) != "y" || b.Predictions[1].Num != 0.75 {
		t.Errorf("got %+v", b)
	}
	defer func() {
		if recover() == nil {
			t.Error("a second Register of the same name did not panic")
		}
	}()
	Register(ProtocolInfo{Name: "pairs-test", Codec: pairsTest{}})
}

type pairsTest struct{}

func (pairsTest) Rows(q *Request) error {
	pairs, _ := q.Root().Field("pairs")
	q.SetRows(pairs.Len())
	for r, row := range pairs.Elems() {
		for j := range q.Features() {
			if v, ok := row.Index(j); ok {
				q.Set(r, j, v)
			}
		}
	}
	return nil
}

func (pairsTest) Predictions(p *Response) error {
	out, _ := p.Root().Field("out")
	for _, v := range out.Elems() {
		p.Add(v)
	}
	return nil
}
