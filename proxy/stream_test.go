package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/testutil"
)

// startHTTPUpstream runs a net/http upstream, whose Flusher streams.
func startHTTPUpstream(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func streamClient(t *testing.T) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func streamRoute(up, extra string) string {
	return fmt.Sprintf(`
listen: 127.0.0.1:0
admin: 127.0.0.1:0
model: test
upstreams:
  live: { address: %s %s }
routes:
  - name: predict
    split:
      - { upstream: live, weight: 1 }
`, up, extra)
}

// TestStreamsEachEvent: an upstream that sends the next event only once
// the client has seen the previous one. A proxy that buffered the answer
// would hold the first event back and the upstream would wait in vain.
func TestStreamsEachEvent(t *testing.T) {
	seen := make(chan int)
	var stalled atomic.Bool
	up := startHTTPUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for k := range 5 {
			fmt.Fprintf(w, "data: {\"k\":%d}\n\n", k)
			w.(http.Flusher).Flush()
			select {
			case <-seen:
			case <-time.After(2 * time.Second):
				stalled.Store(true)
				return
			}
		}
	})
	p := startProxy(t, mustParse(t, streamRoute(up, "")), Options{})
	resp, err := streamClient(t).Get("http://" + p.addr + "/v1/chat/completions")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	for k := range 5 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("event %d: %v (upstream stalled: %t)", k, err, stalled.Load())
		}
		if want := fmt.Sprintf("data: {\"k\":%d}\n", k); line != want {
			t.Fatalf("event %d: got %q; want %q", k, line, want)
		}
		_, _ = br.ReadString('\n') // the blank line
		select {
		case seen <- k:
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d arrived, but the upstream no longer waits (stalled: %t)", k, stalled.Load())
		}
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 || stalled.Load() {
		t.Errorf("after the events: %q, upstream stalled %t", rest, stalled.Load())
	}
}

// TestLargeStreamIsNotBuffered: a 64 MiB chunked answer passes through
// while the process allocates far less than the answer's size.
func TestLargeStreamIsNotBuffered(t *testing.T) {
	const total = 64 << 20
	chunk := []byte(strings.Repeat("x", 32<<10))
	up := startHTTPUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		for sent := 0; sent < total; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	p := startProxy(t, mustParse(t, streamRoute(up, "")), Options{})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	resp, err := streamClient(t).Get("http://" + p.addr + "/big")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	if err != nil || n != total {
		t.Fatalf("read %d bytes, %v; want %d", n, err, total)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("allocated %d MiB for a %d MiB stream; want < 16", alloc>>20, total>>20)
	}
}

// TestClientGoneClosesTheUpstream: a client that leaves mid-stream makes
// the proxy close the upstream connection, so the model stops generating.
func TestClientGoneClosesTheUpstream(t *testing.T) {
	var upstreamDone atomic.Bool
	up := startHTTPUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		defer upstreamDone.Store(true)
		w.Header().Set("Content-Type", "text/event-stream")
		for {
			if _, err := fmt.Fprint(w, "data: {\"tok\":\"x\"}\n\n"); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	p := startProxy(t, mustParse(t, streamRoute(up, "")), Options{})
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(conn, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(conn)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	testutil.Eventually(t, 10*time.Second, "the upstream handler ends", upstreamDone.Load)
	testutil.Eventually(t, 10*time.Second, "client_gone counted", func() bool {
		return counterValue(t, p.reg, "driftcar_upstream_errors_total", map[string]string{"arm": "live", "reason": "client_gone"}) == 1
	})
}

// TestUpstreamBreaksMidStream: an upstream that dies after its headers
// ends the client's stream with an error, counted by its own reason.
func TestUpstreamBreaksMidStream(t *testing.T) {
	up := startHTTPUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"tok\":\"x\"}\n\n")
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	p := startProxy(t, mustParse(t, streamRoute(up, "")), Options{})
	resp, err := streamClient(t).Get("http://" + p.addr + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Errorf("the client's stream ended cleanly (%q); want an error", body)
	}
	if !strings.HasPrefix(string(body), "data: {\"tok\":\"x\"}") {
		t.Errorf("got %q; want the event sent before the break", body)
	}
	testutil.Eventually(t, 10*time.Second, "upstream_broken_stream counted", func() bool {
		return counterValue(t, p.reg, "driftcar_upstream_errors_total", map[string]string{"arm": "live", "reason": "upstream_broken_stream"}) == 1
	})
}

// TestStreamTimeouts: timeout bounds the first byte only, so a stream
// that keeps moving outlives it; stream_idle_timeout cuts a stalled one.
func TestStreamTimeouts(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	up := startHTTPUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for k := range 10 {
			fmt.Fprintf(w, "data: %d\n\n", k)
			w.(http.Flusher).Flush()
			if r.URL.Path == "/stall" {
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			}
			time.Sleep(60 * time.Millisecond) // the upstream's pace, not a wait for the test
		}
	})
	p := startProxy(t, mustParse(t, streamRoute(up, ", timeout: 200ms, stream_idle_timeout: 300ms")), Options{})
	resp, err := streamClient(t).Get("http://" + p.addr + "/moving")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || strings.Count(string(body), "data: ") != 10 {
		t.Fatalf("a 600 ms stream under a 200 ms timeout: %v, %d events; want all 10", err, strings.Count(string(body), "data: "))
	}
	resp, err = streamClient(t).Get("http://" + p.addr + "/stall")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Error("a stalled stream ended cleanly; want it cut after stream_idle_timeout")
	}
	testutil.Eventually(t, 10*time.Second, "the stall counted", func() bool {
		return counterValue(t, p.reg, "driftcar_upstream_errors_total", map[string]string{"arm": "live", "reason": "upstream_broken_stream"}) == 1
	})
}
