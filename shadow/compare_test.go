package shadow

import (
	"testing"

	"github.com/driftcar/driftcar/internal/payload"
)

func TestComparePair(t *testing.T) {
	tol := Compare{AbsTolerance: 1e-6, RelTolerance: 1e-4}
	type counts struct{ match, mismatch, undecodable int }
	cases := []struct {
		name           string
		protocol       payload.Protocol
		path, output   string
		live, shadow   string
		liveStatus     int
		shadowStatus   int
		want           counts
		statusMismatch bool
		failedAlike    bool
		wantDiffs      int
	}{
		{name: "v1 equal numbers", live: `{"predictions":[0.5,0.25]}`, shadow: `{"predictions":[0.5,0.25]}`, want: counts{2, 0, 0}, wantDiffs: 2},
		{name: "v1 within abs tolerance", live: `{"predictions":[0.0]}`, shadow: `{"predictions":[0.0000009]}`, want: counts{1, 0, 0}, wantDiffs: 1},
		{name: "v1 beyond abs tolerance", live: `{"predictions":[0.0]}`, shadow: `{"predictions":[0.0000011]}`, want: counts{0, 1, 0}, wantDiffs: 1},
		{name: "v1 within rel tolerance", live: `{"predictions":[1000]}`, shadow: `{"predictions":[1000.09]}`, want: counts{1, 0, 0}, wantDiffs: 1},
		{name: "v1 beyond rel tolerance", live: `{"predictions":[1000]}`, shadow: `{"predictions":[1000.2]}`, want: counts{0, 1, 0}, wantDiffs: 1},
		{name: "v1 batch partly differs", live: `{"predictions":[1,2,3,4]}`, shadow: `{"predictions":[1,2,30,4]}`, want: counts{3, 1, 0}, wantDiffs: 4},
		{name: "v1 class scores same top-1", live: `{"predictions":[[0.1,0.7,0.2],[0.6,0.3,0.1]]}`, shadow: `{"predictions":[[0.2,0.5,0.3],[0.5,0.4,0.1]]}`, want: counts{2, 0, 0}},
		{name: "v1 class scores top-1 differs", live: `{"predictions":[[0.1,0.7,0.2]]}`, shadow: `{"predictions":[[0.1,0.2,0.7]]}`, want: counts{0, 1, 0}},
		{name: "v1 labels", live: `{"predictions":["cat","dog","cat"]}`, shadow: `{"predictions":["cat","cat","cat"]}`, want: counts{2, 1, 0}},
		{name: "v1 one-element arrays are numbers", live: `{"predictions":[[0.5],[0.7]]}`, shadow: `{"predictions":[[0.5],[0.9]]}`, want: counts{1, 1, 0}, wantDiffs: 2},
		{name: "v1 count differs", live: `{"predictions":[1,2,3]}`, shadow: `{"predictions":[1,2]}`, want: counts{2, 1, 0}, wantDiffs: 2},
		{name: "v1 kind differs", live: `{"predictions":[1]}`, shadow: `{"predictions":["1"]}`, want: counts{0, 1, 0}},
		{name: "v1 malformed shadow", live: `{"predictions":[1]}`, shadow: `{"predictions":[1`, want: counts{0, 0, 1}},
		{name: "v1 outputs stand in for predictions", live: `{"predictions":[1]}`, shadow: `{"outputs":[1]}`, want: counts{1, 0, 0}, wantDiffs: 1},
		{name: "v1 neither predictions nor outputs", live: `{"predictions":[1]}`, shadow: `{"result":[1]}`, want: counts{0, 0, 1}},
		{name: "v1 null prediction", live: `{"predictions":[1]}`, shadow: `{"predictions":[null]}`, want: counts{0, 0, 1}},
		{name: "v1 NaN prediction", live: `{"predictions":[NaN]}`, shadow: `{"predictions":[1]}`, want: counts{0, 0, 1}},
		{name: "v1 booleans", live: `{"predictions":[true,false]}`, shadow: `{"predictions":[true,true]}`, want: counts{1, 1, 0}},
		{name: "v1 path with [*]", path: "predictions[*].score", live: `{"predictions":[{"score":1},{"score":2}]}`, shadow: `{"predictions":[{"score":1},{"score":3}]}`, want: counts{1, 1, 0}, wantDiffs: 2},
		{name: "v1 undecodable live", live: `not json`, shadow: `{"predictions":[1]}`, want: counts{0, 0, 1}},
		{name: "status differs", live: `{"predictions":[1]}`, shadow: `{"error":"x"}`, shadowStatus: 500, statusMismatch: true},
		{name: "both failed alike", live: `{"error":"a"}`, shadow: `{"error":"b"}`, liveStatus: 503, shadowStatus: 503, failedAlike: true},
		{
			name: "v2 numbers", protocol: payload.OpenInferenceV2,
			live:   `{"model_name":"m","outputs":[{"name":"score","shape":[3],"datatype":"FP32","data":[0.1,0.2,0.3]}]}`,
			shadow: `{"model_name":"m","outputs":[{"name":"score","shape":[3],"datatype":"FP32","data":[0.1,0.25,0.3]}]}`,
			want:   counts{2, 1, 0}, wantDiffs: 3,
		},
		{
			name: "v2 class scores [2,3]", protocol: payload.OpenInferenceV2,
			live:   `{"outputs":[{"name":"probs","shape":[2,3],"datatype":"FP32","data":[0.1,0.8,0.1, 0.5,0.3,0.2]}]}`,
			shadow: `{"outputs":[{"name":"probs","shape":[2,3],"datatype":"FP32","data":[0.2,0.7,0.1, 0.2,0.3,0.5]}]}`,
			want:   counts{1, 1, 0},
		},
		{
			name: "v2 [N,1] are numbers", protocol: payload.OpenInferenceV2,
			live:   `{"outputs":[{"name":"y","shape":[2,1],"datatype":"FP64","data":[1.5,2.5]}]}`,
			shadow: `{"outputs":[{"name":"y","shape":[2,1],"datatype":"FP64","data":[1.5,2.5]}]}`,
			want:   counts{2, 0, 0}, wantDiffs: 2,
		},
		{
			name: "v2 the first output: BYTES labels", protocol: payload.OpenInferenceV2,
			live:   `{"outputs":[{"name":"label","shape":[2],"datatype":"BYTES","data":["yes","no"]},{"name":"p","shape":[2],"datatype":"FP32","data":[0.9,0.2]}]}`,
			shadow: `{"outputs":[{"name":"label","shape":[2],"datatype":"BYTES","data":["yes","yes"]},{"name":"p","shape":[2],"datatype":"FP32","data":[0.9,0.2]}]}`,
			want:   counts{1, 1, 0},
		},
		{
			name: "v2 the named output", protocol: payload.OpenInferenceV2, output: "p",
			live:   `{"outputs":[{"name":"label","shape":[2],"datatype":"BYTES","data":["yes","no"]},{"name":"p","shape":[2],"datatype":"FP32","data":[0.9,0.2]}]}`,
			shadow: `{"outputs":[{"name":"label","shape":[2],"datatype":"BYTES","data":["no","no"]},{"name":"p","shape":[2],"datatype":"FP32","data":[0.9,0.6]}]}`,
			want:   counts{1, 1, 0}, wantDiffs: 2,
		},
		{
			name: "v2 named output absent", protocol: payload.OpenInferenceV2, output: "q",
			live:   `{"outputs":[{"name":"p","shape":[1],"datatype":"FP32","data":[0.9]}]}`,
			shadow: `{"outputs":[{"name":"p","shape":[1],"datatype":"FP32","data":[0.9]}]}`,
			want:   counts{0, 0, 1},
		},
		{
			name: "v2 shape/data mismatch", protocol: payload.OpenInferenceV2,
			live:   `{"outputs":[{"name":"y","shape":[3],"datatype":"FP32","data":[1,2,3]}]}`,
			shadow: `{"outputs":[{"name":"y","shape":[4],"datatype":"FP32","data":[1,2,3]}]}`,
			want:   counts{0, 0, 1},
		},
		{
			name: "openai stream and answer agree", protocol: payload.OpenAI,
			live:   "data: {\"choices\":[{\"delta\":{\"content\":\"4\"}}]}\n\ndata: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
			shadow: `{"choices":[{"message":{"role":"assistant","content":"4"},"finish_reason":"stop"}]}`,
			want:   counts{1, 0, 0},
		},
		{
			name: "openai texts differ", protocol: payload.OpenAI,
			live:   `{"choices":[{"message":{"content":"4"},"finish_reason":"stop"}]}`,
			shadow: `{"choices":[{"message":{"content":"four"},"finish_reason":"stop"}]}`,
			want:   counts{0, 1, 0},
		},
		{
			name: "openai finish reasons differ", protocol: payload.OpenAI,
			live:   `{"choices":[{"message":{"content":"4"},"finish_reason":"stop"}]}`,
			shadow: `{"choices":[{"message":{"content":"4"},"finish_reason":"length"}]}`,
			want:   counts{0, 1, 0},
		},
		{
			name: "openai malformed stream", protocol: payload.OpenAI,
			live:   `{"choices":[{"message":{"content":"4"},"finish_reason":"stop"}]}`,
			shadow: "data: {\"choices\":[{\"delta\":{\"content\":\"4\"}}]}\n\n",
			want:   counts{0, 0, 1},
		},
		{
			name: "json path", protocol: payload.JSON, path: "result.scores",
			live: `{"result":{"scores":[0.1,0.9]}}`, shadow: `{"result":{"scores":[0.1,0.8]}}`,
			want: counts{1, 1, 0}, wantDiffs: 2,
		},
		{
			name: "json path with index", protocol: payload.JSON, path: "results[1].score",
			live: `{"results":[{"score":1},{"score":0.5}]}`, shadow: `{"results":[{"score":1},{"score":0.5}]}`,
			want: counts{1, 0, 0}, wantDiffs: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := Spec{Protocol: tc.protocol, Compare: tol, Prediction: payload.PredictionSpec{Path: tc.path, Output: tc.output}}
			c, err := newComparator(spec.withDefaults())
			if err != nil {
				t.Fatal(err)
			}
			ls, ss := tc.liveStatus, tc.shadowStatus
			if ls == 0 {
				ls = 200
			}
			if ss == 0 {
				ss = 200
			}
			var v verdict
			c.comparePair(ls, []byte(tc.live), payload.JSONBody, false, ss, []byte(tc.shadow), payload.JSONBody, &v)
			got := counts{v.counts[Match], v.counts[Mismatch], v.counts[Undecodable]}
			if got != tc.want {
				t.Errorf("outcomes: got %+v; want %+v (reason %q)", got, tc.want, v.reason)
			}
			if v.statusDiffer != tc.statusMismatch || v.failedAlike != tc.failedAlike {
				t.Errorf("status mismatch, failed alike: got %t, %t; want %t, %t", v.statusDiffer, v.failedAlike, tc.statusMismatch, tc.failedAlike)
			}
			if len(v.absDiffs) != tc.wantDiffs {
				t.Errorf("abs diffs observed: got %d; want %d", len(v.absDiffs), tc.wantDiffs)
			}
		})
	}
}

func TestCutLiveBodyIsUndecodable(t *testing.T) {
	c, err := newComparator(Spec{}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	var v verdict
	c.comparePair(200, []byte(`{"predictions":[1]}`), payload.JSONBody, true, 200, []byte(`{"predictions":[1]}`), payload.JSONBody, &v)
	if v.counts[Undecodable] != 1 || v.reason != "live body longer than max_live_body" {
		t.Errorf("got %+v", v)
	}
}
