package sidecar

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// sse is a streamed chat answer of the given chunks, finish reason and
// usage (none when usage < 0).
func sse(chunks []string, finish string, usage int) string {
	var b strings.Builder
	for _, c := range chunks {
		fmt.Fprintf(&b, "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", c)
	}
	fmt.Fprintf(&b, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":%q}]}\n\n", finish)
	if usage >= 0 {
		fmt.Fprintf(&b, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":%d}}\n\n", usage)
	}
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}

// TestOpenAIRoute: an OpenAI-compatible route samples request features
// (a field and the derived prompt length and message count) and the
// finish reason, and the shadow compares the generated texts.
func TestOpenAIRoute(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", sse([]string{"Par", "is"}, "stop", 2)))
	shadowAddr := testupstream.Start(t, testupstream.Answer("shadow", sse([]string{"Lyon"}, "stop", -1)))
	ref := filepath.Join(t.TempDir(), "reference.json")
	var csv strings.Builder
	csv.WriteString("prompt_chars,messages,temperature,prediction\n")
	for i := range 200 {
		fmt.Fprintf(&csv, "%d,%d,%g,%s\n", 10+i%40, 1+i%3, float64(i%10)/10, []string{"stop", "length"}[i%2])
	}
	specs := []payload.FeatureSpec{
		{Name: payload.FeaturePromptChars, Type: payload.Numeric},
		{Name: payload.FeatureMessages, Type: payload.Numeric},
		{Name: "temperature", Type: payload.Numeric},
	}
	p, err := sketch.BuildReference(strings.NewReader(csv.String()), sketch.CSV, specs, sketch.BuildOptions{
		Prediction: &payload.PredictionSpec{Type: payload.Categorical},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WriteFile(ref); err != nil {
		t.Fatal(err)
	}
	r := start(t, fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
model: llm
upstreams:
  live:   { address: %s }
  shadow: { address: %s }
routes:
  - name: chat
    protocol: openai
    match: { path_prefix: /v1/chat/completions }
    split: [{ upstream: live, weight: 1 }]
    sample: { fraction: 1 }
    shadow: { upstream: shadow, fraction: 1 }
features:
  - { name: prompt_chars, type: numeric }
  - { name: messages, type: numeric }
  - { name: temperature, type: numeric }
prediction: { type: categorical }
reference: { file: %s }
`, live, shadowAddr, ref))
	body := `{"model":"m","stream":true,"temperature":0,"messages":[{"role":"system","content":"Answer in one word."},{"role":"user","content":"Capital of France?"}]}`
	for i := range 4 {
		resp, err := http.Post("http://"+r.s.ProxyAddr()+"/v1/chat/completions?i="+fmt.Sprint(i), "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	admin := "http://" + r.s.AdminAddr()
	want := []string{
		`driftcar_feature_value_sum{feature="prompt_chars",model="llm",route="chat"} 148`, // 4 × (19 + 18)
		`driftcar_feature_value_sum{feature="messages",model="llm",route="chat"} 8`,
		`driftcar_feature_category_total{category="stop",feature="__prediction__",model="llm",route="chat"} 4`,
		`driftcar_shadow_comparisons_total{model="llm",outcome="mismatch",route="chat"} 4`,
	}
	waitMetrics(t, admin, "features, finish reasons and text comparisons counted", want...)
	_, samples, _ := get(t, admin+"/api/shadow/mismatches")
	if !strings.Contains(samples, `Paris`) || !strings.Contains(samples, `Lyon`) {
		t.Errorf("mismatch samples do not show both texts: %s", samples)
	}
}
