package llmstub

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func start(t *testing.T, o Options) *Server {
	t.Helper()
	s, err := Start("127.0.0.1:0", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func post(t *testing.T, s *Server, body string) *http.Response {
	t.Helper()
	resp, err := http.Post("http://"+s.Addr()+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return resp
}

type chunk struct {
	Object  string `json:"object"`
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

// events reads a whole event stream: its JSON chunks and whether it ended
// with [DONE].
func events(t *testing.T, resp *http.Response) (chunks []chunk, done bool) {
	t.Helper()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("line %q is not a data line", line)
		}
		if done {
			t.Fatalf("%q after [DONE]", line)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var c chunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		chunks = append(chunks, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return chunks, done
}

// TestStream: N content chunks, a finish chunk, the usage chunk when
// asked for, and [DONE].
func TestStream(t *testing.T) {
	s := start(t, Options{Tokens: 5, NoWait: true})
	resp := post(t, s, `{"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	chunks, done := events(t, resp)
	if !done {
		t.Fatal("no [DONE]")
	}
	if len(chunks) != 7 {
		t.Fatalf("%d chunks; want 5 content, a finish and a usage chunk", len(chunks))
	}
	var text strings.Builder
	for i, c := range chunks[:5] {
		if c.Object != "chat.completion.chunk" || len(c.Choices) != 1 || c.Choices[0].Delta.Content == "" || c.Choices[0].FinishReason != nil {
			t.Errorf("chunk %d: %+v; want content and no finish reason", i, c)
		}
		text.WriteString(c.Choices[0].Delta.Content)
	}
	if text.String() != "The quick brown fox jumps" {
		t.Errorf("text %q", text.String())
	}
	if f := chunks[5].Choices; len(f) != 1 || f[0].FinishReason == nil || *f[0].FinishReason != "stop" || f[0].Delta.Content != "" {
		t.Errorf("finish chunk %+v", chunks[5])
	}
	if u := chunks[6]; len(u.Choices) != 0 || u.Usage == nil || u.Usage.CompletionTokens != 5 {
		t.Errorf("usage chunk %+v", u)
	}
	if s.Streams() != 1 || s.Requests() != 1 {
		t.Errorf("streams %d requests %d", s.Streams(), s.Requests())
	}
}

// TestStreamMaxTokens: max_tokens cuts the answer with "length", and no
// usage chunk unless asked.
func TestStreamMaxTokens(t *testing.T) {
	s := start(t, Options{Tokens: 5, NoWait: true})
	chunks, done := events(t, post(t, s, `{"stream":true,"max_tokens":2}`))
	if !done || len(chunks) != 3 {
		t.Fatalf("%d chunks, done %v; want 2 content and a finish chunk", len(chunks), done)
	}
	if f := chunks[2].Choices[0].FinishReason; f == nil || *f != "length" || chunks[2].Usage != nil {
		t.Errorf("last chunk %+v; want finish length and no usage", chunks[2])
	}
}

// TestNonStreaming: one chat.completion with the whole text and usage.
func TestNonStreaming(t *testing.T) {
	s := start(t, Options{Tokens: 3, NoWait: true})
	resp := post(t, s, `{"messages":[{"role":"user","content":"hi"}]}`)
	var got struct {
		Object  string `json:"object"`
		Choices []struct {
			Message      struct{ Content string } `json:"message"`
			FinishReason string                   `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Object != "chat.completion" || len(got.Choices) != 1 || got.Choices[0].Message.Content != "The quick brown" ||
		got.Choices[0].FinishReason != "stop" || got.Usage.CompletionTokens != 3 {
		t.Errorf("answer %+v", got)
	}
	if s.Streams() != 0 {
		t.Errorf("%d streams; want 0", s.Streams())
	}
}

// TestBadBody: a body that is not JSON is a 400.
func TestBadBody(t *testing.T) {
	s := start(t, Options{NoWait: true})
	resp, err := http.Post("http://"+s.Addr()+"/v1/chat/completions", "application/json", strings.NewReader("{"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d; want 400", resp.StatusCode)
	}
}
