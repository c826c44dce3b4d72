package grpcproxy

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/driftcar/driftcar/internal/testupstream"
	dtestutil "github.com/driftcar/driftcar/internal/testutil"
)

func newTestClient(tb testing.TB, addr string, maxRecv int) *Client {
	c := NewClient(addr, time.Second, maxRecv, zap.NewNop())
	tb.Cleanup(c.Close)
	return c
}

// invoke makes one call and waits for its outcome.
func invoke(c *Client, md metadata.MD, req []byte, timeout time.Duration) (Reply, error) {
	type outcome struct {
		rep Reply
		err error
	}
	got := make(chan outcome, 1)
	c.Go(methodInfer, md, req, nil, timeout, func(r Reply, err error) { got <- outcome{r, err} }, nil)
	o := <-got
	return o.rep, o.err
}

// TestClientCall: a call reaches a real grpc-go server with its method,
// body, metadata and deadline, and its response comes back whole.
func TestClientCall(t *testing.T) {
	live := startUpstream(t, "live")
	c := newTestClient(t, live.addr, 4<<20)
	req := inferRequest("m", "c1", 3)
	md := metadata.Pairs("x-request-id", "rid", "x-trace-bin", "\x00\x01bin")
	rep, err := invoke(c, md, req, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Code != codes.OK || !bytes.Equal(rep.Message, inferResponse("live", "c1", 0.25)) {
		t.Fatalf("reply = %v %x; want OK and live's response", rep.Code, rep.Message)
	}
	got, _ := live.seen()
	if got.method != methodInfer || !bytes.Equal(got.body, req) {
		t.Errorf("upstream saw %s %x", got.method, got.body)
	}
	if v := got.md.Get("x-request-id"); len(v) != 1 || v[0] != "rid" {
		t.Errorf("x-request-id = %q", v)
	}
	if v := got.md.Get("x-trace-bin"); len(v) != 1 || v[0] != "\x00\x01bin" {
		t.Errorf("x-trace-bin = %q; want the bytes sent", v)
	}
	if left := time.Until(got.deadline); got.deadline.IsZero() || left > 5*time.Second || left < 3*time.Second {
		t.Errorf("upstream deadline in %v; want about 5s", left)
	}
}

// TestClientStatuses: a status the server sends is a Reply, not an error,
// with its message decoded.
func TestClientStatuses(t *testing.T) {
	live := startUpstream(t, "live")
	c := newTestClient(t, live.addr, 4<<20)
	for _, code := range []codes.Code{codes.InvalidArgument, codes.Unavailable, codes.Internal} {
		md := metadata.Pairs("x-code", strconv.Itoa(int(code)))
		rep, err := invoke(c, md, inferRequest("m", "s", 1), 5*time.Second)
		if err != nil {
			t.Fatalf("%v: %v", code, err)
		}
		if rep.Code != code || rep.Status != "model live says no" || rep.Message != nil {
			t.Errorf("reply = %v %q %x; want %v, live's message, no response", rep.Code, rep.Status, rep.Message, code)
		}
	}
}

// TestClientConcurrent: calls share a connection and each gets its own
// answer; a large request waits for the server's windows.
func TestClientConcurrent(t *testing.T) {
	live := startUpstream(t, "live")
	c := newTestClient(t, live.addr, 4<<20)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			id := "id-" + strconv.Itoa(i)
			rows := 1 + i*1000 // up to about 500 KiB, past the default 64 KiB window
			rep, err := invoke(c, nil, inferRequest("m", id, rows), 10*time.Second)
			switch {
			case err != nil:
				errs <- err
			case !bytes.Equal(rep.Message, inferResponse("live", id, 0.25)):
				errs <- errors.New("call " + id + " got another call's answer")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c.be.mu.Lock()
	n := len(c.be.conns)
	c.be.mu.Unlock()
	if n != 1 {
		t.Errorf("%d connections; want 1 shared", n)
	}
}

func TestClientFailures(t *testing.T) {
	live := startUpstream(t, "live")
	t.Run("dead", func(t *testing.T) {
		c := newTestClient(t, dtestutil.FreePort(t), 4<<20)
		_, err := invoke(c, nil, inferRequest("m", "d", 1), 5*time.Second)
		if err == nil || !strings.Contains(err.Error(), "connection error") {
			t.Fatalf("err = %v; want a connection error", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		c := newTestClient(t, live.addr, 4<<20)
		start := time.Now()
		rep, err := invoke(c, metadata.Pairs("x-sleep", "10s"), inferRequest("m", "d", 1), 100*time.Millisecond)
		// The server, told the deadline, may say so before the client's timer does.
		if !errors.Is(err, context.DeadlineExceeded) && rep.Code != codes.DeadlineExceeded {
			t.Fatalf("got %v %v; want the deadline", err, rep.Code)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
		// The connection serves the next call.
		if _, err := invoke(c, nil, inferRequest("m", "n", 1), 5*time.Second); err != nil {
			t.Errorf("next call: %v", err)
		}
	})
	t.Run("oversized", func(t *testing.T) {
		c := newTestClient(t, live.addr, 1000)
		_, err := invoke(c, metadata.Pairs("x-big", "5000"), inferRequest("m", "b", 1), 5*time.Second)
		if err == nil || !strings.Contains(err.Error(), "larger than max") {
			t.Fatalf("err = %v; want larger than max", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		c := newTestClient(t, testupstream.Resetter(t), 4<<20)
		_, err := invoke(c, nil, inferRequest("m", "r", 1), 5*time.Second)
		if err == nil || !strings.Contains(err.Error(), "connection error") {
			t.Fatalf("err = %v; want a connection error from a server that resets every connection", err)
		}
	})
}

func TestEncodeTimeout(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1n"}, {time.Millisecond, "1000000n"}, {5 * time.Second, "5000000u"},
		{200 * time.Second, "200000m"}, {30 * time.Hour, "108000S"},
	} {
		got := encodeTimeout(tc.d)
		if got != tc.want {
			t.Errorf("encodeTimeout(%v) = %q; want %q", tc.d, got, tc.want)
		}
		if back, ok := parseTimeout(got); !ok || back < tc.d {
			t.Errorf("parseTimeout(%q) = %v, %v; want at least %v", got, back, ok, tc.d)
		}
	}
}

// TestClientGo: an asynchronous call reports once, with the answer or
// with the deadline.
func TestClientGo(t *testing.T) {
	live := startUpstream(t, "live")
	c := newTestClient(t, live.addr, 4<<20)
	type outcome struct {
		rep Reply
		err error
	}
	got := make(chan outcome, 4)
	report := func(r Reply, err error) { got <- outcome{r, err} }
	c.Go(methodInfer, nil, inferRequest("m", "g1", 1), nil, 5*time.Second, report, nil)
	if o := <-got; o.err != nil || !bytes.Equal(o.rep.Message, inferResponse("live", "g1", 0.25)) {
		t.Fatalf("got %v %x; want live's answer", o.err, o.rep.Message)
	}
	c.Go(methodInfer, metadata.Pairs("x-sleep", "10s"), inferRequest("m", "g2", 1), nil, 100*time.Millisecond, report, nil)
	// The server, told the deadline, may say so before the client's timer.
	if o := <-got; !errors.Is(o.err, context.DeadlineExceeded) && o.rep.Code != codes.DeadlineExceeded {
		t.Fatalf("got %v %v; want the deadline", o.err, o.rep.Code)
	}
	// The server's late answer, if any, is not reported again.
	c.Go(methodInfer, nil, inferRequest("m", "g3", 1), nil, 5*time.Second, report, nil)
	if o := <-got; o.err != nil || !bytes.Equal(o.rep.Message, inferResponse("live", "g3", 0.25)) {
		t.Fatalf("got %v %x; want live's answer to g3", o.err, o.rep.Message)
	}
	if len(got) != 0 {
		t.Errorf("%d more reports; want none", len(got))
	}
}
