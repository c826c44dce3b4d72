package sidecar

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
	"github.com/driftcar/driftcar/sampler/sketch"
	"github.com/valyala/fasthttp"
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

// gatedEvents serves a streamed chat answer one event at a time: it writes
// the next event only after the client has read the previous one (a
// value on next), so every event is one chunk at the proxy.
func gatedEvents(events []string, next <-chan struct{}) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			for i, ev := range events {
				_, _ = w.WriteString(ev)
				if w.Flush() != nil {
					return
				}
				if i < len(events)-1 {
					<-next
				}
			}
		})
	}
}

// splitEvents cuts a server-sent stream into its events.
func splitEvents(stream string) []string {
	var out []string
	for ev := range strings.SplitAfterSeq(stream, "\n\n") {
		if ev != "" {
			out = append(out, ev)
		}
	}
	return out
}

// TestOpenAIStreamAccounting: on an openai route every streamed answer
// is timed per arm (first chunk, gaps between chunks) and its tokens and
// finish reason counted, from usage when the server sends it and from
// the chunks otherwise.
func TestOpenAIStreamAccounting(t *testing.T) {
	liveEvents := splitEvents(sse([]string{"Par", "is"}, "stop", 2)) // 2 chunks, finish, usage, [DONE]
	canaryEvents := splitEvents(sse([]string{"Ly", "o", "n"}, "length", -1))
	liveNext, canaryNext := make(chan struct{}), make(chan struct{})
	live := testupstream.Start(t, gatedEvents(liveEvents, liveNext))
	canary := testupstream.Start(t, gatedEvents(canaryEvents, canaryNext))
	r := start(t, fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
model: llm
upstreams:
  live:   { address: %s }
  canary: { address: %s }
routes:
  - name: plain
    match: { path_prefix: /plain }
    split: [{ upstream: live, weight: 1 }]
  - name: chat
    protocol: openai
    arm_override: true
    split: [{ upstream: live, weight: 1 }, { upstream: canary, weight: 0 }]
`, live, canary))
	const streams = 2
	for _, arm := range []struct {
		name   string
		events []string
		next   chan struct{}
	}{{"live", liveEvents, liveNext}, {"canary", canaryEvents, canaryNext}} {
		for range streams {
			req, _ := http.NewRequest(http.MethodPost, "http://"+r.s.ProxyAddr()+"/v1/chat/completions",
				strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"?"}]}`))
			req.Header.Set("x-driftcar-arm", arm.name)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(resp.Body)
			for i, ev := range arm.events {
				got := readEvent(t, br)
				if got != ev {
					t.Fatalf("%s event %d: got %q; want %q", arm.name, i, got, ev)
				}
				if i < len(arm.events)-1 {
					arm.next <- struct{}{}
				}
			}
			_ = resp.Body.Close()
		}
	}
	admin := "http://" + r.s.AdminAddr()
	waitMetrics(t, admin, "streams timed and their tokens counted",
		`driftcar_llm_time_to_first_token_seconds_count{arm="live",model="llm",route="chat"} 2`,
		fmt.Sprintf(`driftcar_llm_inter_token_seconds_count{arm="live",model="llm",route="chat"} %d`, streams*(len(liveEvents)-1)),
		`driftcar_llm_time_to_first_token_seconds_count{arm="canary",model="llm",route="chat"} 2`,
		fmt.Sprintf(`driftcar_llm_inter_token_seconds_count{arm="canary",model="llm",route="chat"} %d`, streams*(len(canaryEvents)-1)),
		`driftcar_llm_tokens_total{arm="live",kind="completion",model="llm",route="chat",source="usage"} 4`,
		`driftcar_llm_tokens_total{arm="live",kind="prompt",model="llm",route="chat",source="usage"} 6`,
		`driftcar_llm_tokens_total{arm="canary",kind="completion",model="llm",route="chat",source="chunks"} 6`,
		`driftcar_llm_finish_total{arm="live",model="llm",reason="stop",route="chat"} 2`,
		`driftcar_llm_finish_total{arm="canary",model="llm",reason="length",route="chat"} 2`,
		`driftcar_llm_uncounted_total{model="llm",reason="undecodable",route="chat"} 0`,
	)

	// /api/routes shows the same per arm, on the openai route only.
	want := map[string]ArmLLMView{
		"live": {Streams: streams, Answers: streams, Tokens: LLMTokens{Prompt: 6, CompletionUsage: 4},
			Finish: map[string]uint64{"stop": streams}},
		"canary": {Streams: streams, Answers: streams, Tokens: LLMTokens{CompletionChunks: 6},
			Finish: map[string]uint64{"length": streams}},
	}
	var routes []RouteStats
	testutil.Eventually(t, 5*time.Second, "/api/routes counts the streams", func() bool {
		_, body, _ := get(t, admin+"/api/routes")
		routes = nil
		if err := json.Unmarshal([]byte(body), &routes); err != nil {
			t.Fatalf("/api/routes: %v: %s", err, body)
		}
		for _, r := range routes {
			for _, a := range r.Arms {
				if r.Route == "chat" && (a.LLM == nil || a.LLM.Answers != want[a.Arm].Answers) {
					return false
				}
			}
		}
		return true
	})
	for _, r := range routes {
		for _, a := range r.Arms {
			if r.Route == "plain" {
				if a.LLM != nil {
					t.Errorf("plain %s: got llm %+v; want none", a.Arm, a.LLM)
				}
				continue
			}
			got := *a.LLM
			if !(got.TTFTP50 > 0 && got.TTFTP99 >= got.TTFTP50 && got.InterTokenP99 > 0) {
				t.Errorf("chat %s: got ttft p50 %g, p99 %g, inter-token p99 %g; want 0 < p50 <= p99, 0 < inter-token",
					a.Arm, got.TTFTP50, got.TTFTP99, got.InterTokenP99)
			}
			got.TTFTP50, got.TTFTP99, got.InterTokenP99 = 0, 0, 0
			if !reflect.DeepEqual(got, want[a.Arm]) {
				t.Errorf("chat %s: got %+v; want %+v", a.Arm, got, want[a.Arm])
			}
		}
	}
	if len(routes) != 2 || len(routes[1].Arms) != 2 {
		t.Errorf("got routes %+v; want plain and chat with two arms", routes)
	}
}

// readEvent reads one server-sent event, through its blank line.
func readEvent(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			t.Fatalf("reading an event: %v (read %q)", err, b.String())
		}
		if line == "\n" {
			return b.String()
		}
	}
}
