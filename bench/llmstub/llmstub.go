package llmstub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Options configure a Server.
type Options struct {
	// Tokens is the number of content chunks of an answer. Default 64.
	Tokens int
	// Interval is the time between tokens. Default 20ms.
	Interval time.Duration
	// NoWait sends every token at once (Interval is ignored).
	NoWait bool
	// Pace, when set, is called before token i is sent instead of the
	// fixed schedule; an error ends the answer there. Tests gate the
	// stream with it.
	Pace func(ctx context.Context, i int) error
	// Model is the "model" field of the answers. Default "stub".
	Model string
}

func (o *Options) fill() {
	if o.Tokens <= 0 {
		o.Tokens = 64
	}
	if o.Interval <= 0 && !o.NoWait {
		o.Interval = 20 * time.Millisecond
	}
	if o.Model == "" {
		o.Model = "stub"
	}
}

// Server is a running stub.
type Server struct {
	opts     Options
	ln       net.Listener
	srv      *http.Server
	requests atomic.Uint64
	streams  atomic.Uint64
	aborted  atomic.Uint64
}

// Start listens on addr ("127.0.0.1:0" for any port) and serves.
func Start(addr string, o Options) (*Server, error) {
	o.fill()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	s := &Server{opts: o, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.handle)
	mux.HandleFunc("POST /v1/completions", s.handle)
	mux.HandleFunc("GET "+BigPath, s.big)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the stub listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Requests is the number of requests answered or being answered.
func (s *Server) Requests() uint64 { return s.requests.Load() }

// Streams is the number of streamed answers begun.
func (s *Server) Streams() uint64 { return s.streams.Load() }

// Aborted is the number of answers cut short because the client went away.
func (s *Server) Aborted() uint64 { return s.aborted.Load() }

// Close stops the stub and the answers in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return s.srv.Close()
	}
	return nil
}

// request is the part of a chat request the stub reads.
type request struct {
	Stream        bool `json:"stream"`
	MaxTokens     int  `json:"max_tokens"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Messages []struct {
		Content string `json:"content"`
	} `json:"messages"`
	Prompt string `json:"prompt"`
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	start := time.Now()
	var req request
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"body is not JSON"}}`, http.StatusBadRequest)
		return
	}
	n, finish := s.opts.Tokens, "stop"
	if req.MaxTokens > 0 && req.MaxTokens < n {
		n, finish = req.MaxTokens, "length"
	}
	prompt := len(req.Prompt)
	for _, m := range req.Messages {
		prompt += len(m.Content)
	}
	prompt = max(1, prompt/4)
	id := "chatcmpl-" + strconv.FormatUint(s.requests.Load(), 10)
	created := start.Unix()
	if !req.Stream {
		s.answer(w, r, start, id, created, n, prompt, finish)
		return
	}
	s.stream(w, r, start, id, created, n, prompt, finish, req.StreamOptions.IncludeUsage)
}

// BigPath answers GET ?bytes=N with N bytes, chunked, written 64 KiB at a
// time as fast as the client reads: a response too large to buffer.
const BigPath = "/v1/big"

func (s *Server) big(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.URL.Query().Get("bytes"), 10, 64)
	if err != nil || n < 0 {
		http.Error(w, "bytes must be a count of bytes", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = byte('a' + i%26)
	}
	for n > 0 {
		k := min(n, int64(len(chunk)))
		if _, err := w.Write(chunk[:k]); err != nil {
			return
		}
		n -= k
	}
}

// wait blocks until token i is due, or the client went away.
func (s *Server) wait(ctx context.Context, start time.Time, i int) error {
	if s.opts.Pace != nil {
		return s.opts.Pace(ctx, i)
	}
	if s.opts.NoWait {
		return ctx.Err()
	}
	d := time.Until(start.Add(time.Duration(i+1) * s.opts.Interval))
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, start time.Time, id string, created int64, n, prompt int, finish string, usage bool) {
	s.streams.Add(1)
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	head := fmt.Sprintf(`data: {"id":%q,"object":"chat.completion.chunk","created":%d,"model":%q,"choices":[{"index":0,`, id, created, s.opts.Model)
	buf := make([]byte, 0, 256)
	for i := range n {
		if err := s.wait(r.Context(), start, i); err != nil {
			s.aborted.Add(1)
			return
		}
		buf = append(buf[:0], head...)
		if i == 0 {
			buf = append(buf, `"delta":{"role":"assistant","content":"`...)
		} else {
			buf = append(buf, `"delta":{"content":"`...)
		}
		buf = appendToken(buf, i)
		buf = append(buf, `"},"finish_reason":null}]}`+"\n\n"...)
		if _, err := w.Write(buf); err != nil {
			s.aborted.Add(1)
			return
		}
		fl.Flush()
	}
	tail := fmt.Sprintf("%s\"delta\":{},\"finish_reason\":%q}]}\n\n", head, finish)
	if usage {
		tail += fmt.Sprintf(`data: {"id":%q,"object":"chat.completion.chunk","created":%d,"model":%q,"choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n",
			id, created, s.opts.Model, prompt, n, prompt+n)
	}
	tail += "data: [DONE]\n\n"
	if _, err := io.WriteString(w, tail); err != nil {
		s.aborted.Add(1)
		return
	}
	fl.Flush()
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, start time.Time, id string, created int64, n, prompt int, finish string) {
	for i := range n {
		if err := s.wait(r.Context(), start, i); err != nil {
			s.aborted.Add(1)
			return
		}
	}
	var text []byte
	for i := range n {
		text = appendToken(text, i)
	}
	body, err := json.Marshal(map[string]any{
		"id": id, "object": "chat.completion", "created": created, "model": s.opts.Model,
		"choices": []any{map[string]any{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": string(text)},
			"finish_reason": finish,
		}},
		"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": n, "total_tokens": prompt + n},
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write(body); err != nil && !errors.Is(err, http.ErrHandlerTimeout) {
		s.aborted.Add(1)
	}
}

// words are the tokens the stub generates, in turn.
var words = [...]string{"The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", "."}

func appendToken(b []byte, i int) []byte { return append(b, words[i%len(words)]...) }
