package llm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/valyala/fastjson"

	"github.com/driftcar/driftcar/bench/loadgen"
)

// Client posts one chat request and reads its answer as server-sent
// events, timing each content chunk. It is not safe for concurrent use:
// each stream of a load has its own.
type Client struct {
	hc     *http.Client
	url    string
	body   []byte
	parser fastjson.Parser
	br     *bufio.Reader
}

// NewClient returns a client posting body to url through hc.
func NewClient(hc *http.Client, url string, body []byte) *Client {
	return &Client{hc: hc, url: url, body: body, br: bufio.NewReaderSize(nil, 16<<10)}
}

// Stream is one streamed answer as the client saw it.
type Stream struct {
	// Tokens are the arrival times of the content chunks since the
	// request was sent.
	Tokens []time.Duration
	// Total is the time from sending to the end of the body.
	Total time.Duration
	// Finish is the finish_reason the stream ended with.
	Finish string
	// Usage is the completion_tokens of the usage chunk, -1 without one.
	Usage int
}

// Do sends the request and reads the whole answer into s (reused: its
// Tokens slice is truncated). onToken, when set, is called as each
// content chunk arrives, with its index. An answer that is not a
// complete event stream ending in [DONE] is an error.
func (c *Client) Do(ctx context.Context, s *Stream, onToken func(i int)) error {
	s.Tokens, s.Total, s.Finish, s.Usage = s.Tokens[:0], 0, "", -1
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(c.body))
	if err != nil {
		return fmt.Errorf("cannot build the request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	c.br.Reset(resp.Body)
	defer c.br.Reset(nil)
	done := false
	for !done {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("stream ended after %d tokens without [DONE]", len(s.Tokens))
			}
			return fmt.Errorf("cannot read the stream: %w", err)
		}
		at := time.Since(start)
		data, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r\n"), []byte("data:"))
		if !ok {
			continue // blank separators, comments, other fields
		}
		data = bytes.TrimSpace(data)
		if string(data) == "[DONE]" {
			done = true
			continue
		}
		v, err := c.parser.ParseBytes(data)
		if err != nil {
			return fmt.Errorf("event %d is not JSON: %w", len(s.Tokens), err)
		}
		if u := v.Get("usage"); u != nil && u.Type() == fastjson.TypeObject {
			s.Usage = u.GetInt("completion_tokens")
		}
		ch := v.Get("choices", "0")
		if ch == nil {
			continue
		}
		if fr := ch.GetStringBytes("finish_reason"); len(fr) > 0 {
			s.Finish = string(fr)
		}
		if len(ch.GetStringBytes("delta", "content")) > 0 {
			s.Tokens = append(s.Tokens, at)
			if onToken != nil {
				onToken(len(s.Tokens) - 1)
			}
		}
	}
	// Read to the end so that the connection is reused.
	_, _ = io.Copy(io.Discard, c.br)
	s.Total = time.Since(start)
	if len(s.Tokens) == 0 {
		return errors.New("stream had no content chunk")
	}
	return nil
}

// NewHTTPClient is a client of up to conns keep-alive connections to one
// host, without compression or HTTP/2, as LLM clients talk to a server.
func NewHTTPClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}}
}

// Load is a closed loop of streams against one endpoint.
type Load struct {
	// Streams is the number of concurrent streams; each starts its next
	// request when the last one has ended.
	Streams int
	// Duration is how long new requests are started; streams in flight
	// then run to their end.
	Duration time.Duration
	// Interval is the stub's token interval: token i is due (i+1)·Interval
	// after the request, and its lag is how much later it arrived.
	Interval time.Duration
	// Tokens is the number of content chunks a stream should have; one
	// with another number counts as failed.
	Tokens int
	// PerStream, when positive, is the number of requests each stream
	// sends, whatever Duration (a warm-up: one each).
	PerStream int
	// Timeout bounds one stream.
	Timeout time.Duration
	// NewClient returns the client of one stream.
	NewClient func() *Client
}

// Result is what a load measured, in HDR histograms (1 µs resolution,
// 3 significant digits).
type Result struct {
	// TTFT is the time to the first content chunk.
	TTFT *loadgen.Histogram
	// Gap is each time between two content chunks of a stream.
	Gap *loadgen.Histogram
	// Lag is each content chunk's arrival after it was due.
	Lag *loadgen.Histogram
	// Total is each stream's time from sending to the end.
	Total *loadgen.Histogram
	// Streams is the number of complete streams; Failed of failed ones.
	Streams, Failed int64
	// Tokens is the number of content chunks received in complete streams.
	Tokens int64
	// FirstError is the first failure's message.
	FirstError string
	// Elapsed is the time from the first request to the last stream's end.
	Elapsed time.Duration
}

func newResult() *Result {
	return &Result{TTFT: loadgen.NewHistogram(), Gap: loadgen.NewHistogram(), Lag: loadgen.NewHistogram(), Total: loadgen.NewHistogram()}
}

func (r *Result) merge(o *Result) {
	r.TTFT.Merge(o.TTFT)
	r.Gap.Merge(o.Gap)
	r.Lag.Merge(o.Lag)
	r.Total.Merge(o.Total)
	r.Streams += o.Streams
	r.Failed += o.Failed
	r.Tokens += o.Tokens
	r.Elapsed += o.Elapsed // rounds run one after another
	if r.FirstError == "" {
		r.FirstError = o.FirstError
	}
}

// record adds one complete stream.
func (r *Result) record(s *Stream, interval time.Duration) {
	r.Streams++
	r.Tokens += int64(len(s.Tokens))
	r.Total.Record(s.Total)
	for i, at := range s.Tokens {
		if i == 0 {
			r.TTFT.Record(at)
		} else {
			r.Gap.Record(at - s.Tokens[i-1])
		}
		r.Lag.Record(max(0, at-time.Duration(i+1)*interval))
	}
}

// Run runs the load until ctx ends or Duration has passed (or each
// stream sent PerStream requests) and every stream has ended.
func (l Load) Run(ctx context.Context) *Result {
	total := newResult()
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(l.Duration)
	for range l.Streams {
		wg.Go(func() {
			res := newResult()
			c := l.NewClient()
			var s Stream
			for n := 0; ctx.Err() == nil && (l.PerStream > 0 && n < l.PerStream || l.PerStream <= 0 && time.Now().Before(stop)); n++ {
				sctx, cancel := context.WithTimeout(ctx, l.Timeout)
				err := c.Do(sctx, &s, nil)
				cancel()
				if err == nil && l.Tokens > 0 && len(s.Tokens) != l.Tokens {
					err = fmt.Errorf("%d tokens, want %d", len(s.Tokens), l.Tokens)
				}
				if err != nil {
					if ctx.Err() != nil {
						break
					}
					res.Failed++
					if res.FirstError == "" {
						res.FirstError = err.Error()
					}
					// A failing endpoint must not turn the loop into a spin.
					select {
					case <-ctx.Done():
					case <-time.After(10 * time.Millisecond):
					}
					continue
				}
				res.record(&s, l.Interval)
			}
			mu.Lock()
			total.merge(res)
			mu.Unlock()
		})
	}
	wg.Wait()
	total.Elapsed = time.Since(start)
	return total
}
