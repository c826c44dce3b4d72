package payload

import (
	"errors"
	"math"
	"testing"
)

var llmFeatures = []FeatureSpec{
	{Name: FeaturePromptChars, Type: Numeric},
	{Name: FeatureMessages, Type: Numeric},
	{Name: "temperature", Type: Numeric},
	{Name: "model", Type: Categorical},
	{Name: "top_p", Type: Numeric, Path: "top_p"},
}

func TestOpenAIRequestFeatures(t *testing.T) {
	d, err := NewDecoder(OpenAI, llmFeatures, nil, DecoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body string
		want [][]float64 // prompt_chars, messages, temperature per row; NaN = missing
	}{
		{"chat", `{"model":"m","temperature":0.2,"top_p":0.9,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"héllo"},{"type":"image_url","image_url":{"url":"x"}}]}]}`,
			[][]float64{{14, 2, 0.2}}},
		{"completion", `{"model":"m","prompt":"Once upon"}`, [][]float64{{9, 0, math.NaN()}}},
		{"embeddings batch", `{"model":"m","input":["ab","cde"]}`, [][]float64{{2, 0, math.NaN()}, {3, 0, math.NaN()}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := d.Decode([]byte(tc.body), nil)
			if err != nil {
				t.Fatal(err)
			}
			if b.Rows != len(tc.want) {
				t.Fatalf("rows: got %d; want %d", b.Rows, len(tc.want))
			}
			for r, want := range tc.want {
				row := b.Row(r)
				for j, w := range want {
					v := row[j]
					if math.IsNaN(w) {
						if v.Kind != ValueMissing {
							t.Errorf("row %d %s: got %+v; want missing", r, llmFeatures[j].Name, v)
						}
					} else if v.Kind != ValueNumber || v.Num != w {
						t.Errorf("row %d %s: got %+v; want %v", r, llmFeatures[j].Name, v, w)
					}
				}
				if string(row[3].Str) != "m" {
					t.Errorf("row %d model: got %q", r, row[3].Str)
				}
			}
		})
	}
}

const chatStream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n" +
	"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n" +
	": keep-alive\n\n" +
	"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\\n\"},\"finish_reason\":null}]}\n\n" +
	"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"

func TestOpenAIPredictions(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantErr   error
		kind      PredictionKind
		content   string
		finish    string
		num       float64
		fromUsage bool
		wantNorms []float64
		// usage: the prompt and completion tokens Usage reports; zero
		// means both absent (-1).
		usage [2]int
	}{
		{name: "chat answer", body: `{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi there"},"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":3}}`,
			kind: PredictionCompletion, content: "Hi there", finish: "length", num: 3, fromUsage: true, usage: [2]int{5, 3}},
		{name: "completion answer without usage", body: `{"choices":[{"text":"ünï","finish_reason":"stop"}]}`,
			kind: PredictionCompletion, content: "ünï", finish: "stop", num: 3},
		{name: "stream without usage", body: chatStream + "data: [DONE]\n\n",
			kind: PredictionCompletion, content: "Hello\n", finish: "stop", num: 2},
		{name: "stream with usage", body: chatStream + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4}}\n\ndata: [DONE]\n\n",
			kind: PredictionCompletion, content: "Hello\n", finish: "stop", num: 4, fromUsage: true, usage: [2]int{9, 4}},
		{name: "CRLF stream", body: "data: {\"choices\":[{\"text\":\"a\",\"finish_reason\":\"stop\"}]}\r\n\r\ndata: [DONE]\r\n\r\n",
			kind: PredictionCompletion, content: "a", finish: "stop", num: 1},
		{name: "embeddings", body: `{"object":"list","data":[{"embedding":[3,4]},{"embedding":[0,0,2]}],"usage":{"prompt_tokens":7,"total_tokens":7}}`,
			wantNorms: []float64{5, 2}, usage: [2]int{7, -1}},
		{name: "stream cut before [DONE]", body: chatStream, wantErr: ErrMalformedStream},
		{name: "data not JSON", body: "data: {\"choices\":\n\ndata: [DONE]\n\n", wantErr: ErrMalformedStream},
		{name: "a line that is no field", body: "data: {}\n\ngarbage\n\ndata: [DONE]\n\n", wantErr: ErrMalformedStream},
		{name: "usage below the chunks", body: chatStream + "data: {\"choices\":[],\"usage\":{\"completion_tokens\":1}}\n\ndata: [DONE]\n\n", wantErr: ErrUsageMismatch},
		{name: "no choices", body: `{"id":"x"}`, wantErr: ErrWrongType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewResponseDecoder(OpenAI, PredictionSpec{}, DecoderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			preds, err := r.Decode([]byte(tc.body))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err: got %v; want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			want := tc.usage
			if want == [2]int{} {
				want = [2]int{-1, -1}
			}
			if prompt, completion := r.Usage(); [2]int{prompt, completion} != want {
				t.Errorf("usage: got prompt %d, completion %d; want %v", prompt, completion, want)
			}
			if tc.wantNorms != nil {
				if len(preds) != len(tc.wantNorms) {
					t.Fatalf("got %d predictions; want %d", len(preds), len(tc.wantNorms))
				}
				for i, w := range tc.wantNorms {
					if preds[i].Kind != PredictionNumber || preds[i].Num != w {
						t.Errorf("embedding %d: got %s; want %v", i, preds[i].String(), w)
					}
				}
				return
			}
			if len(preds) != 1 {
				t.Fatalf("got %d predictions; want 1", len(preds))
			}
			p := preds[0]
			if p.Kind != tc.kind || string(p.Content) != tc.content || string(p.Text) != tc.finish || p.Num != tc.num || p.TokensFromUsage != tc.fromUsage {
				t.Errorf("got %s (usage %t); want %q finish %s, %v tokens (usage %t)", p.String(), p.TokensFromUsage, tc.content, tc.finish, tc.num, tc.fromUsage)
			}
		})
	}
}

// TestOpenAISampledPrediction: the sampler reads the finish reason as a
// category and the completion tokens as a number, and counts a bad
// stream by its reason.
func TestOpenAISampledPrediction(t *testing.T) {
	req := []byte(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	for _, tc := range []struct {
		typ  FeatureType
		want Value
	}{{Categorical, Value{Kind: ValueString, Str: []byte("stop")}}, {Numeric, Value{Kind: ValueNumber, Num: 2}}} {
		d, err := NewDecoder(OpenAI, llmFeatures[:1], &PredictionSpec{Type: tc.typ}, DecoderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := d.Decode(req, []byte(chatStream+"data: [DONE]\n\n"))
		if err != nil || len(b.Predictions) != 1 {
			t.Fatalf("%v: %v, %d predictions", tc.typ, err, len(b.Predictions))
		}
		if got := b.Predictions[0]; got.Kind != tc.want.Kind || got.Num != tc.want.Num || string(got.Str) != string(tc.want.Str) {
			t.Errorf("%v: got %+v; want %+v", tc.typ, got, tc.want)
		}
		if _, err := d.Decode(req, []byte(chatStream)); err != nil {
			t.Fatal(err)
		}
		if n := d.Counters().Load()[ReasonMalformedStream]; n != 1 {
			t.Errorf("%v: malformed_stream counted %d; want 1", tc.typ, n)
		}
	}
}
