package llm

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/internal/payload"
	itestutil "github.com/driftcar/driftcar/internal/testutil"
)

func newCounter(t *testing.T, opts Options) (*Counter, *Metrics) {
	t.Helper()
	m := NewMetrics(prometheus.NewPedanticRegistry())
	opts.Route, opts.Protocol, opts.Metrics = "chat", payload.OpenAI, m
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c, m
}

func answerOf(status int, contentType, body string) *fasthttp.Response {
	resp := &fasthttp.Response{}
	resp.SetStatusCode(status)
	resp.Header.SetContentType(contentType)
	resp.SetBodyString(body)
	return resp
}

const stream = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n" +
	"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n" +
	"data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n" +
	"data: {\"choices\":[{\"delta\":{\"content\":\"c\"},\"finish_reason\":\"length\"}]}\n\n"

func TestCounterCountsTokensAndFinishReasons(t *testing.T) {
	c, m := newCounter(t, Options{})
	answers := []struct {
		arm  string
		resp *fasthttp.Response
	}{
		{"live", answerOf(200, "application/json", `{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":2}}`)},
		{"live", answerOf(200, "text/event-stream", stream+"data: [DONE]\n\n")},
		{"live", answerOf(200, "text/event-stream", stream+"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":5}}\n\ndata: [DONE]\n\n")},
		{"canary", answerOf(200, "application/json", `{"choices":[{"text":"x","finish_reason":"eos_token"}]}`)},
		{"canary", answerOf(200, "application/json", `{"data":[{"embedding":[1,0]}],"usage":{"prompt_tokens":3}}`)},
		{"canary", answerOf(200, "text/event-stream", "data: {\"choices\":\n\n")},
		{"canary", answerOf(503, "application/json", `{"error":"down"}`)},
	}
	for _, a := range answers {
		c.Sample(nil, a.resp, a.arm)
	}
	itestutil.Eventually(t, 5*time.Second, "queue drained", func() bool {
		return c.QueueLength() == 0 && testutil.ToFloat64(m.uncounted.WithLabelValues("chat", uncountedUndecodable)) == 1
	})
	want := map[string]float64{
		"tokens live prompt usage":        15,
		"tokens live completion usage":    7,
		"tokens live completion chunks":   3,
		"tokens canary prompt usage":      3,
		"tokens canary completion chunks": 0,
		"finish live stop":                1,
		"finish live length":              2,
		"finish canary other":             1,
		"finish canary none":              0,
		"uncounted no_usage":              1,
		"uncounted undecodable":           1,
		"uncounted queue_full":            0,
	}
	for key, w := range want {
		f := strings.Fields(key)
		var got float64
		switch f[0] {
		case "tokens":
			got = testutil.ToFloat64(m.tokens.WithLabelValues("chat", f[1], f[2], f[3]))
		case "finish":
			got = testutil.ToFloat64(m.finish.WithLabelValues("chat", f[1], f[2]))
		case "uncounted":
			got = testutil.ToFloat64(m.uncounted.WithLabelValues("chat", f[1]))
		}
		if got != w {
			t.Errorf("%s: got %v; want %v", key, got, w)
		}
	}
	// Stats keeps the same counts itself; the undecodable answer is in
	// neither arm.
	wantStats := []ArmTokens{
		{Arm: "canary", Answers: 2, Prompt: 3, Finish: map[string]uint64{"other": 1}},
		{Arm: "live", Answers: 3, Prompt: 15, CompletionUsage: 7, CompletionChunks: 3, Finish: map[string]uint64{"stop": 1, "length": 2}},
	}
	if got := c.Stats(); !reflect.DeepEqual(got, wantStats) {
		t.Errorf("Stats: got %+v; want %+v", got, wantStats)
	}
}

// TestStatsWhileCounting: Stats may run while the worker counts (run
// with -race), and its counts only grow.
func TestStatsWhileCounting(t *testing.T) {
	c, _ := newCounter(t, Options{Queue: 1024})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			c.Sample(nil, answerOf(200, "text/event-stream", stream+"data: [DONE]\n\n"), "live")
		}
	}()
	var last uint64
	for deadline := time.Now().Add(5 * time.Second); ; {
		st := c.Stats()
		if len(st) == 1 {
			if st[0].CompletionChunks < last {
				t.Fatalf("chunks went back from %d to %d", last, st[0].CompletionChunks)
			}
			last = st[0].CompletionChunks
			if st[0].Answers == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("answers not all counted: %+v", st)
		}
	}
	<-done
	if st := c.Stats(); st[0].CompletionChunks != 600 || st[0].Finish["length"] != 200 {
		t.Errorf("got %+v; want 600 chunks and 200 length", st[0])
	}
}

// TestCounterBoundsItsQueue: a worker that cannot keep up costs counted
// answers, not memory.
func TestCounterBoundsItsQueue(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		bodies []int
		want   map[string]float64
		queued int64
	}{
		{"answers", Options{Queue: 1}, []int{10, 10, 10},
			map[string]float64{uncountedQueueFull: 2, uncountedBytesFull: 0, uncountedTooLarge: 0}, 10},
		{"bytes", Options{Queue: 10, MaxBytes: 64, MaxBody: 48}, []int{49, 40, 40, 20},
			map[string]float64{uncountedQueueFull: 0, uncountedBytesFull: 1, uncountedTooLarge: 1}, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMetrics(prometheus.NewPedanticRegistry())
			tc.opts.Route, tc.opts.Protocol, tc.opts.Metrics = "chat", payload.OpenAI, m
			c, err := build(tc.opts) // no worker: nothing leaves the queue
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range tc.bodies {
				c.Sample(nil, answerOf(200, "application/json", strings.Repeat(" ", n)), "live")
			}
			for reason, want := range tc.want {
				if got := testutil.ToFloat64(m.uncounted.WithLabelValues("chat", reason)); got != want {
					t.Errorf("%s: got %v; want %v", reason, got, want)
				}
			}
			if got := c.queued.Load(); got != tc.queued {
				t.Errorf("queued bytes: got %d; want %d", got, tc.queued)
			}
			go c.work()
			c.Stop()
		})
	}
}

// TestStopCountsWhatWasQueued: answers a config change leaves on the
// queue are counted, not lost.
func TestStopCountsWhatWasQueued(t *testing.T) {
	m := NewMetrics(prometheus.NewPedanticRegistry())
	c, err := build(Options{Route: "chat", Protocol: payload.OpenAI, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		c.Sample(nil, answerOf(200, "application/json", `{}`), "live")
	}
	close(c.done) // as if the worker had stopped before taking any
	c.Stop()
	if got := testutil.ToFloat64(m.uncounted.WithLabelValues("chat", uncountedReconfigured)); got != 3 {
		t.Errorf("reconfigured: got %v; want 3", got)
	}
}
