package grpcproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/driftcar/driftcar/config"
	dtestutil "github.com/driftcar/driftcar/internal/testutil"
)

// requests returns driftcar_grpc_requests_total for route, arm and code.
func (f *front) requests(route, arm string, code codes.Code) float64 {
	return testutil.ToFloat64(f.srv.metrics.requests.WithLabelValues(route, arm, code.String()))
}

func (f *front) waitRequests(tb testing.TB, route, arm string, code codes.Code, want float64) {
	tb.Helper()
	dtestutil.Eventually(tb, 5*time.Second, fmt.Sprintf("requests_total{%s,%s,%s} = %v", route, arm, code, want), func() bool {
		return f.requests(route, arm, code) == want
	})
}

func TestUnaryRelayedByteIdentical(t *testing.T) {
	live, canary := startUpstream(t, "live"), startUpstream(t, "canary")
	f := startFront(t, twoArms(live.addr, canary.addr, ""), Options{})

	req := inferRequest("m", "req-1", 3)
	ctx := metadata.AppendToOutgoingContext(ctxTimeout(t, 5*time.Second),
		"x-user", "u1", "x-request-id", "abc", "trace-bin", string([]byte{0, 1, 2, 255}))
	var header, trailer metadata.MD
	resp := new(Frame)
	if err := f.cc.Invoke(ctx, methodInfer, &Frame{b: req}, resp, grpc.Header(&header), grpc.Trailer(&trailer)); err != nil {
		t.Fatalf("ModelInfer: %v", err)
	}
	got, calls := live.seen()
	if calls != 1 || got.method != methodInfer {
		t.Fatalf("live saw %d calls, last %q; want 1 call of %s", calls, got.method, methodInfer)
	}
	if !bytes.Equal(got.body, req) {
		t.Errorf("upstream got request %x; want %x", got.body, req)
	}
	if want := inferResponse("live", "req-1", 0.25); !bytes.Equal(resp.b, want) {
		t.Errorf("client got response %x; want %x", resp.b, want)
	}
	for k, want := range map[string]string{"x-user": "u1", "x-request-id": "abc", "trace-bin": string([]byte{0, 1, 2, 255})} {
		if v := got.md.Get(k); len(v) != 1 || v[0] != want {
			t.Errorf("upstream metadata %s = %q; want [%q]", k, v, want)
		}
	}
	if v := header.Get("x-upstream"); len(v) != 1 || v[0] != "live" {
		t.Errorf("client header x-upstream = %q; want [live]", v)
	}
	if v := trailer.Get("x-trailer"); len(v) != 1 || v[0] != "t-live" {
		t.Errorf("client trailer x-trailer = %q; want [t-live]", v)
	}
	// The deadline travels as grpc-timeout, in whole units of its
	// encoding: the upstream's is the client's within a millisecond or so,
	// less the time in transit.
	want, _ := ctx.Deadline()
	if got.deadline.IsZero() || got.deadline.After(want.Add(10*time.Millisecond)) || got.deadline.Before(want.Add(-time.Second)) {
		t.Errorf("upstream deadline %v; want within 1s before %v", got.deadline, want)
	}
	if n := f.requests("infer", "live", codes.OK); n != 1 {
		t.Errorf("requests_total{infer,live,OK} = %v; want 1", n)
	}
	if n := testutil.CollectAndCount(f.srv.metrics.duration); n != 3 { // infer/live, infer/canary, _none/_none
		t.Errorf("duration series = %d; want 3", n)
	}
}

func TestServerStreaming(t *testing.T) {
	live := startUpstream(t, "live")
	f := startFront(t, twoArms(live.addr, live.addr, ""), Options{})
	cs, err := f.cc.NewStream(ctxTimeout(t, 5*time.Second), &grpc.StreamDesc{ServerStreams: true}, methodCount)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.SendMsg(&Frame{b: []byte("5")}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		m := new(Frame)
		err := cs.RecvMsg(m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("RecvMsg: %v", err)
		}
		got = append(got, string(m.b))
	}
	if strings.Join(got, ",") != "0,1,2,3,4" {
		t.Errorf("got messages %q; want 0..4", got)
	}
	if v := cs.Trailer().Get("x-count"); len(v) != 1 || v[0] != "5" {
		t.Errorf("trailer x-count = %q; want [5]", v)
	}
}

// TestBidiPingPong proves the relay does not wait for the client to
// finish sending before it relays answers.
func TestBidiPingPong(t *testing.T) {
	live := startUpstream(t, "live")
	f := startFront(t, twoArms(live.addr, live.addr, ""), Options{})
	cs, err := f.cc.NewStream(ctxTimeout(t, 5*time.Second), &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, methodStream)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		id := "s" + strconv.Itoa(i)
		if err := cs.SendMsg(&Frame{b: inferRequest("m", id, 1)}); err != nil {
			t.Fatal(err)
		}
		m := new(Frame)
		if err := cs.RecvMsg(m); err != nil {
			t.Fatalf("RecvMsg %d: %v", i, err)
		}
		if want := inferResponse("live", id, 0.5); !bytes.Equal(m.b, want) {
			t.Errorf("answer %d = %x; want %x", i, m.b, want)
		}
	}
	if h, _ := cs.Header(); len(h.Get("x-upstream")) != 1 {
		t.Errorf("header = %v; want x-upstream", h)
	}
	_ = cs.CloseSend()
	if err := cs.RecvMsg(new(Frame)); !errors.Is(err, io.EOF) {
		t.Errorf("after CloseSend: %v; want EOF", err)
	}
}

func TestDeadlineExceeded(t *testing.T) {
	live := startUpstream(t, "live")
	f := startFront(t, twoArms(live.addr, live.addr, ""), Options{})
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "x-sleep", "10s"), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := f.cc.Invoke(ctx, methodInfer, &Frame{b: inferRequest("m", "d", 1)}, new(Frame))
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("got %v; want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s; the deadline was 100ms", d)
	}
	f.waitRequests(t, "infer", "live", codes.DeadlineExceeded, 1)
}

// TestStatusCodesPassThrough: every status an upstream sends reaches the
// client with its code, message, details and trailers unchanged.
func TestStatusCodesPassThrough(t *testing.T) {
	live := startUpstream(t, "live")
	f := startFront(t, twoArms(live.addr, live.addr, ""), Options{})
	for code := codes.Canceled; code <= codes.Unauthenticated; code++ {
		t.Run(code.String(), func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(ctxTimeout(t, 5*time.Second), "x-code", strconv.Itoa(int(code)))
			var trailer metadata.MD
			err := f.cc.Invoke(ctx, methodInfer, &Frame{b: inferRequest("m", "c", 1)}, new(Frame), grpc.Trailer(&trailer))
			st := status.Convert(err)
			if st.Code() != code || st.Message() != "model live says no" {
				t.Fatalf("got %v %q; want %v %q", st.Code(), st.Message(), code, "model live says no")
			}
			if d := st.Details(); len(d) != 1 || d[0].(*errdetails.ErrorInfo).GetDomain() != "live" {
				t.Errorf("details = %v; want one ErrorInfo from live", d)
			}
			if v := trailer.Get("x-trailer"); len(v) != 1 || v[0] != "t-live" {
				t.Errorf("trailer x-trailer = %q; want [t-live]", v)
			}
			f.waitRequests(t, "infer", "live", code, 1)
		})
	}
}

func TestDeadUpstream(t *testing.T) {
	dead := dtestutil.FreePort(t)
	canary := startUpstream(t, "canary")

	t.Run("no fallback", func(t *testing.T) {
		f := startFront(t, twoArms(dead, canary.addr, "    fallback: none\n"), Options{})
		err := f.cc.Invoke(ctxTimeout(t, 5*time.Second), methodInfer, &Frame{b: inferRequest("m", "x", 1)}, new(Frame))
		st := status.Convert(err)
		if st.Code() != codes.Unavailable || !strings.Contains(st.Message(), `route "infer" arm "live"`) {
			t.Fatalf("got %v %q; want Unavailable naming route infer and arm live", st.Code(), st.Message())
		}
		f.waitRequests(t, "infer", "live", codes.Unavailable, 1)
	})
	t.Run("fallback", func(t *testing.T) {
		f := startFront(t, twoArms(dead, canary.addr, "    fallback: canary\n"), Options{})
		var header metadata.MD
		resp := new(Frame)
		if err := f.cc.Invoke(ctxTimeout(t, 5*time.Second), methodInfer, &Frame{b: inferRequest("m", "fb", 1)}, resp, grpc.Header(&header)); err != nil {
			t.Fatalf("ModelInfer: %v; want the fallback's answer", err)
		}
		if v := header.Get("x-upstream"); len(v) != 1 || v[0] != "canary" {
			t.Errorf("served by %q; want canary", v)
		}
		if !bytes.Equal(resp.b, inferResponse("canary", "fb", 0.25)) {
			t.Errorf("response %x is not canary's", resp.b)
		}
		if n := testutil.ToFloat64(f.srv.metrics.fallbacks.WithLabelValues("infer", "live")); n != 1 {
			t.Errorf("fallbacks_total{infer,live} = %v; want 1", n)
		}
		f.waitRequests(t, "infer", "canary", codes.OK, 1)
	})
	t.Run("no fallback after the upstream answered", func(t *testing.T) {
		live := startUpstream(t, "live")
		f := startFront(t, twoArms(live.addr, canary.addr, "    fallback: canary\n"), Options{})
		ctx := metadata.AppendToOutgoingContext(ctxTimeout(t, 5*time.Second), "x-code", strconv.Itoa(int(codes.Unavailable)))
		err := f.cc.Invoke(ctx, methodInfer, &Frame{b: inferRequest("m", "x", 1)}, new(Frame))
		if st := status.Convert(err); st.Code() != codes.Unavailable || st.Message() != "model live says no" {
			t.Fatalf("got %v %q; want live's own Unavailable", st.Code(), st.Message())
		}
		if _, calls := canary.seen(); calls != 1 { // the fallback call of the previous case
			t.Errorf("canary saw %d calls; want 1", calls)
		}
	})
}

func TestUnknownMethod(t *testing.T) {
	live := startUpstream(t, "live")
	f := startFront(t, twoArms(live.addr, live.addr, ""), Options{})
	err := f.cc.Invoke(ctxTimeout(t, 5*time.Second), "/other.Service/Do", &Frame{b: []byte("x")}, new(Frame))
	st := status.Convert(err)
	if st.Code() != codes.Unimplemented || !strings.Contains(st.Message(), "/other.Service/Do") {
		t.Fatalf("got %v %q; want Unimplemented naming /other.Service/Do", st.Code(), st.Message())
	}
	if n := f.requests(pseudoRoute, pseudoRoute, codes.Unimplemented); n != 1 {
		t.Errorf("requests_total{_none,_none,Unimplemented} = %v; want 1", n)
	}
}

// TestHTTPOnlyRouteIsNotServed: a "/" route without gRPC arms does not
// catch gRPC calls.
func TestHTTPOnlyRouteIsNotServed(t *testing.T) {
	live := startUpstream(t, "live")
	f := startFront(t, fmt.Sprintf(`grpc_listen: 127.0.0.1:0
upstreams:
  g:    { address: 127.0.0.1:1, grpc_address: %q }
  rest: { address: 127.0.0.1:2 }
routes:
  - name: infer
    match: { path_prefix: /inference.GRPCInferenceService/ }
    split: [{ upstream: g, weight: 1 }]
  - name: rest
    split: [{ upstream: rest, weight: 1 }]
`, live.addr), Options{})
	if err := f.cc.Invoke(ctxTimeout(t, 5*time.Second), methodInfer, &Frame{b: inferRequest("m", "x", 1)}, new(Frame)); err != nil {
		t.Fatalf("ModelInfer: %v", err)
	}
	err := f.cc.Invoke(ctxTimeout(t, 5*time.Second), "/grpc.reflection.v1.ServerReflection/X", &Frame{}, new(Frame))
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("got %v; want Unimplemented", err)
	}
}

func TestOversized(t *testing.T) {
	live := startUpstream(t, "live")
	f := startFront(t, twoArms(live.addr, live.addr, "")+"grpc: { max_recv_message_bytes: 1KiB, max_send_message_bytes: 1KiB }\n", Options{})

	t.Run("request", func(t *testing.T) {
		err := f.cc.Invoke(ctxTimeout(t, 5*time.Second), methodInfer, &Frame{b: make([]byte, 2048)}, new(Frame))
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("got %v; want ResourceExhausted", err)
		}
		if _, calls := live.seen(); calls != 0 {
			t.Errorf("upstream saw %d calls; want 0", calls)
		}
		f.waitRequests(t, "infer", "live", codes.ResourceExhausted, 1)
	})
	t.Run("response", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(ctxTimeout(t, 5*time.Second), "x-big", "4096")
		err := f.cc.Invoke(ctx, methodInfer, &Frame{b: inferRequest("m", "x", 1)}, new(Frame))
		st := status.Convert(err)
		if st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), `route "infer" arm "live"`) {
			t.Fatalf("got %v %q; want ResourceExhausted naming route and arm", st.Code(), st.Message())
		}
	})
}

func TestStickyByMetadata(t *testing.T) {
	live, canary := startUpstream(t, "live"), startUpstream(t, "canary")
	yaml := strings.Replace(twoArms(live.addr, canary.addr, "    sticky: { header: X-User }\n"), "weight: 0", "weight: 1", 1)
	f := startFront(t, yaml, Options{})
	arms := map[string]string{}
	for round := range 3 {
		for u := range 16 {
			user := "user-" + strconv.Itoa(u)
			var h metadata.MD
			ctx := metadata.AppendToOutgoingContext(ctxTimeout(t, 5*time.Second), "x-user", user)
			if err := f.cc.Invoke(ctx, methodInfer, &Frame{b: inferRequest("m", user, 1)}, new(Frame), grpc.Header(&h)); err != nil {
				t.Fatal(err)
			}
			got := h.Get("x-upstream")[0]
			if round == 0 {
				arms[user] = got
			} else if arms[user] != got {
				t.Fatalf("%s moved from %s to %s", user, arms[user], got)
			}
		}
	}
	n := 0
	for _, a := range arms {
		if a == "live" {
			n++
		}
	}
	if n == 0 || n == len(arms) {
		t.Errorf("%d of %d users on live; want both arms used", n, len(arms))
	}
}

func TestArmOverride(t *testing.T) {
	live, canary := startUpstream(t, "live"), startUpstream(t, "canary")
	f := startFront(t, twoArms(live.addr, canary.addr, "    arm_override: true\n"), Options{})
	var h metadata.MD
	ctx := metadata.AppendToOutgoingContext(ctxTimeout(t, 5*time.Second), config.ArmOverrideHeader, "canary")
	if err := f.cc.Invoke(ctx, methodInfer, &Frame{b: inferRequest("m", "o", 1)}, new(Frame), grpc.Header(&h)); err != nil {
		t.Fatal(err)
	}
	if v := h.Get("x-upstream"); len(v) != 1 || v[0] != "canary" {
		t.Errorf("served by %q; want canary (weight 0, chosen by %s)", v, config.ArmOverrideHeader)
	}
}

type tapRecorder struct {
	mu    sync.Mutex
	calls []Call
}

func (r *tapRecorder) Call(c *Call) {
	r.mu.Lock()
	r.calls = append(r.calls, *c)
	r.mu.Unlock()
}

func TestTap(t *testing.T) {
	live := startUpstream(t, "live")
	f := startFront(t, twoArms(live.addr, live.addr, ""), Options{})
	tap := &tapRecorder{}
	if err := f.srv.Apply(f.srv.Config(), Taps{"infer": tap}); err != nil {
		t.Fatal(err)
	}
	req := inferRequest("m", "tapped", 2)
	ctx := metadata.AppendToOutgoingContext(ctxTimeout(t, 5*time.Second), "x-request-id", "rid")
	if err := f.cc.Invoke(ctx, methodInfer, &Frame{b: req}, new(Frame)); err != nil {
		t.Fatal(err)
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	if len(tap.calls) != 1 {
		t.Fatalf("tap saw %d calls; want 1", len(tap.calls))
	}
	c := tap.calls[0]
	if c.Route != "infer" || c.Arm != "live" || c.Method != methodInfer || c.Code != codes.OK || c.Requests != 1 || c.Responses != 1 {
		t.Errorf("tap call = %+v", c)
	}
	if !bytes.Equal(c.Request, req) || !bytes.Equal(c.Response, inferResponse("live", "tapped", 0.25)) {
		t.Errorf("tap bytes differ from the exchange")
	}
	if v := c.Metadata.Get("x-request-id"); v != "rid" {
		t.Errorf("tap metadata x-request-id = %q", v)
	}
}

func TestApplyKeepsConnections(t *testing.T) {
	live, canary := startUpstream(t, "live"), startUpstream(t, "canary")
	f := startFront(t, twoArms(live.addr, canary.addr, ""), Options{})
	if err := f.cc.Invoke(ctxTimeout(t, 5*time.Second), methodInfer, &Frame{b: inferRequest("m", "a", 1)}, new(Frame)); err != nil {
		t.Fatal(err)
	}
	before := f.srv.table.Load().routes[0].arms[0].backend
	cfg := f.srv.Config()
	if err := f.srv.Apply(cfg, nil); err != nil {
		t.Fatal(err)
	}
	if after := f.srv.table.Load().routes[0].arms[0].backend; after != before {
		t.Errorf("reload replaced the live connection")
	}
	// Point live at canary's server: the old connection goes.
	moved, err := config.Parse([]byte(twoArms(canary.addr, canary.addr, "")))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Apply(moved, nil); err != nil {
		t.Fatal(err)
	}
	var h metadata.MD
	if err := f.cc.Invoke(ctxTimeout(t, 5*time.Second), methodInfer, &Frame{b: inferRequest("m", "b", 1)}, new(Frame), grpc.Header(&h)); err != nil {
		t.Fatal(err)
	}
	if v := h.Get("x-upstream"); len(v) != 1 || v[0] != "canary" {
		t.Errorf("after reload served by %q; want canary", v)
	}
	f.srv.mu.Lock()
	n := len(f.srv.backends)
	f.srv.mu.Unlock()
	if n != 1 {
		t.Errorf("%d upstream connections after reload; want 1", n)
	}
}
