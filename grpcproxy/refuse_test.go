package grpcproxy

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc/codes"
)

// startRefuser listens in front of upstream: its first connection reads
// the first call's HEADERS and refuses the call with refuse, then drains
// until driftcar closes it; later connections are piped to upstream.
func startRefuser(tb testing.TB, upstream string, refuse func(fr *http2.Framer, id uint32)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	tb.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for first := true; ; first = false {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tb.Cleanup(func() { _ = c.Close() })
			wg.Add(1)
			if first {
				go func() { defer wg.Done(); refuseFirst(c, refuse) }()
			} else {
				go func() { defer wg.Done(); pipe(c, upstream) }()
			}
		}
	}()
	return ln.Addr().String()
}

func refuseFirst(c net.Conn, refuse func(fr *http2.Framer, id uint32)) {
	defer c.Close()
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil || !bytes.Equal(preface, []byte(http2.ClientPreface)) {
		return
	}
	fr := http2.NewFramer(c, c)
	if fr.WriteSettings() != nil {
		return
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() && fr.WriteSettingsAck() != nil {
				return
			}
		case *http2.HeadersFrame:
			refuse(fr, f.StreamID)
			_, _ = io.Copy(io.Discard, c) // until driftcar closes the drained connection
			return
		}
	}
}

func pipe(c net.Conn, addr string) {
	defer c.Close()
	u, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer u.Close()
	done := make(chan struct{})
	go func() { _, _ = io.Copy(u, c); _ = u.Close(); close(done) }()
	_, _ = io.Copy(c, u)
	_ = c.Close()
	<-done
}

// An upstream that did not process a call (REFUSED_STREAM, or GOAWAY
// below the call's stream) gets the call refused to the client too, and
// grpc-go's client retries it on its own: the caller sees one success.
func TestUnprocessedCallIsRefusedSoTheClientRetries(t *testing.T) {
	for name, refuse := range map[string]func(fr *http2.Framer, id uint32){
		"goaway": func(fr *http2.Framer, id uint32) { _ = fr.WriteGoAway(0, http2.ErrCodeNo, nil) },
		"refused_stream": func(fr *http2.Framer, id uint32) {
			_ = fr.WriteRSTStream(id, http2.ErrCodeRefusedStream)
			_ = fr.WriteGoAway(id, http2.ErrCodeNo, nil)
		},
	} {
		t.Run(name, func(t *testing.T) {
			live := startUpstream(t, "live")
			f := startFront(t, twoArms(startRefuser(t, live.addr, refuse), live.addr, ""), Options{})
			resp := new(Frame)
			if err := f.cc.Invoke(ctxTimeout(t, 5*time.Second), methodInfer, &Frame{b: inferRequest("m", "r1", 1)}, resp); err != nil {
				t.Fatalf("ModelInfer: %v; want the client's retry to succeed", err)
			}
			if want := inferResponse("live", "r1", 0.25); !bytes.Equal(resp.b, want) {
				t.Errorf("client got %x; want %x", resp.b, want)
			}
			if _, calls := live.seen(); calls != 1 {
				t.Errorf("upstream served %d calls; want 1 (the retry)", calls)
			}
			f.waitRequests(t, "infer", "live", codes.OK, 1)
			if got := f.requests("infer", "live", codes.Unavailable); got != 1 {
				t.Errorf("requests_total{UNAVAILABLE} = %v; want 1, the refused attempt", got)
			}
		})
	}
}
