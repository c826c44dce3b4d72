package shadow

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

// TestGRPCShadowComparesModelInfer: ModelInfer calls through the relay are
// mirrored to the shadow's grpc_address and compared output by output;
// the live answer is the live model's, byte for byte, whatever the shadow
// says.
func TestGRPCShadowComparesModelInfer(t *testing.T) {
	live := testupstream.StartGRPC(t, testupstream.GRPCAnswer("live", 0.25, 0.5))
	cases := []struct {
		name    string
		shadow  testupstream.GRPCHandler
		metric  string // the counter that counts each call
		labels  []string
		answer  string // what the Answers get
		samples bool   // whether each call leaves a mismatch sample
	}{
		{"match", testupstream.GRPCAnswer("shadow", 0.25, 0.5), "driftcar_shadow_comparisons_total", []string{"outcome", "match"}, "infer 200 match [0.25 0.5]", false},
		{"mismatch", testupstream.GRPCAnswer("shadow", 0.25, 0.75), "driftcar_shadow_comparisons_total", []string{"outcome", "mismatch"}, "infer 200 mismatch [0.25 0.75]", true},
		{"undecodable", func(context.Context, metadata.MD, []byte) ([]byte, error) { return []byte{0xff, 0x01}, nil },
			"driftcar_shadow_comparisons_total", []string{"outcome", "undecodable"}, "infer 200 undecodable []", true},
		{"status", func(context.Context, metadata.MD, []byte) ([]byte, error) {
			return nil, status.Error(codes.InvalidArgument, "bad tensor")
		}, "driftcar_shadow_status_mismatch_total", nil, "infer 400 status_mismatch []", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newGRPCEnv(t, live, grpcShadowSpec(testupstream.StartGRPC(t, tc.shadow)))
			const n = 5
			for i := range n {
				id := "id-" + strconv.Itoa(i)
				resp, err := e.infer(t, testupstream.InferRequest("m", id, row))
				if err != nil {
					t.Fatal(err)
				}
				if want := testupstream.InferResponse("live", id, 0.25, 0.5); !bytes.Equal(resp, want) {
					t.Fatalf("live answer changed with a shadow:\n%x\n%x", resp, want)
				}
			}
			e.waitCounter(t, n, "driftcar_shadow_requests_total", "result", "ok")
			per := float64(n)
			if tc.metric == "driftcar_shadow_comparisons_total" {
				per = 2 * n // two outputs rows per call, compared one by one
				if tc.name == "mismatch" {
					e.waitCounter(t, n, "driftcar_shadow_comparisons_total", "outcome", "match")
					per = n
				}
				if tc.name == "undecodable" {
					per = n
				}
			}
			e.waitCounter(t, per, tc.metric, tc.labels...)
			testutil.Eventually(t, 10*time.Second, "5 answers", func() bool { return len(e.answers.snapshot()) == n })
			for id, got := range e.answers.snapshot() {
				if got != tc.answer {
					t.Errorf("%s: got %q; want %q", id, got, tc.answer)
				}
			}
			samples := e.ring.Snapshot()
			if !tc.samples {
				if len(samples) != 0 {
					t.Errorf("got %d samples; want none", len(samples))
				}
				return
			}
			if len(samples) != n {
				t.Fatalf("got %d samples; want %d", len(samples), n)
			}
			s := samples[0]
			if s.Path != testupstream.MethodModelInfer || !strings.HasPrefix(s.RequestID, "id-") || s.LiveStatus != 200 {
				t.Errorf("sample = %+v", s)
			}
			switch tc.name {
			case "mismatch":
				if s.Index != 1 || s.Live != "0.5" || s.Shadow != "0.75" || s.Matched != 1 || s.Mismatched != 1 {
					t.Errorf("mismatch sample = %+v", s)
				}
			case "status":
				if s.ShadowStatus != 400 || s.Reason != "code OK vs InvalidArgument" {
					t.Errorf("status sample = %+v", s)
				}
			}
		})
	}
}

// TestGRPCShadowMetadata: the shadow gets the client's metadata without
// the stripped keys, marked as a shadow call; the live model gets it
// unmarked.
func TestGRPCShadowMetadata(t *testing.T) {
	seen := make(chan metadata.MD, 2)
	record := func(model string) testupstream.GRPCHandler {
		return func(_ context.Context, md metadata.MD, req []byte) ([]byte, error) {
			seen <- md
			return testupstream.InferResponse(model, testupstream.InferID(req), 1), nil
		}
	}
	live := testupstream.StartGRPC(t, record("live"))
	e := newGRPCEnv(t, live, grpcShadowSpec(testupstream.StartGRPC(t, record("shadow"))))
	if _, err := e.infer(t, testupstream.InferRequest("m", "abc", row), "authorization", "Bearer secret", "x-keep", "k"); err != nil {
		t.Fatal(err)
	}
	lmd, smd := <-seen, <-seen
	if got := lmd.Get("authorization"); len(got) != 1 || len(lmd.Get(metaShadow)) != 0 {
		t.Errorf("live metadata = %v; want the authorization and no shadow mark", lmd)
	}
	for key, want := range map[string]string{"authorization": "", "x-keep": "k", metaShadow: "1"} {
		got := ""
		if v := smd.Get(key); len(v) > 0 {
			got = v[0]
		}
		if got != want {
			t.Errorf("shadow saw %s=%q; want %q", key, got, want)
		}
	}
}

// TestGRPCSlowShadowDoesNotDelayLive: a shadow that takes 2s leaves every
// live call as fast as without it.
func TestGRPCSlowShadowDoesNotDelayLive(t *testing.T) {
	live := testupstream.StartGRPC(t, testupstream.GRPCAnswer("live", 0.5))
	release := make(chan struct{})
	shadow := testupstream.StartGRPC(t, func(ctx context.Context, _ metadata.MD, req []byte) ([]byte, error) {
		select {
		case <-time.After(2 * time.Second):
		case <-release:
		case <-ctx.Done():
		}
		return testupstream.InferResponse("shadow", testupstream.InferID(req), 0.5), nil
	})
	defer close(release)
	spec := grpcShadowSpec(shadow)
	spec.Upstream.Timeout = 5 * time.Second
	e := newGRPCEnv(t, live, spec)
	for i := range 50 {
		start := time.Now()
		if _, err := e.infer(t, testupstream.InferRequest("m", "id-"+strconv.Itoa(i), row)); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("call %d took %s with a 2s shadow; want well under 2s", i, took)
		}
	}
	if got := e.counter(t, "driftcar_shadow_inflight"); got == 0 {
		t.Errorf("no shadow call in flight: the test did not exercise a slow shadow")
	}
}

// TestGRPCBrokenShadows: a dead, a resetting and a timing-out shadow are
// counted and reported, and never reach the client.
func TestGRPCBrokenShadows(t *testing.T) {
	live := testupstream.StartGRPC(t, testupstream.GRPCAnswer("live", 0.5))
	slow := testupstream.StartGRPC(t, func(ctx context.Context, _ metadata.MD, _ []byte) ([]byte, error) {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	})
	cases := []struct {
		name, addr, result string
	}{
		{"dead", testutil.FreePort(t), "error"},
		{"reset", testupstream.Resetter(t), "error"},
		{"timeout", slow, "timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := grpcShadowSpec(tc.addr)
			spec.Upstream.Timeout = 200 * time.Millisecond
			e := newGRPCEnv(t, live, spec)
			const n = 10
			for i := range n {
				id := "id-" + strconv.Itoa(i)
				resp, err := e.infer(t, testupstream.InferRequest("m", id, row))
				if err != nil || !bytes.Equal(resp, testupstream.InferResponse("live", id, 0.5)) {
					t.Fatalf("live call %d changed: %v %x", i, err, resp)
				}
			}
			e.waitCounter(t, n, "driftcar_shadow_requests_total", "result", tc.result)
			testutil.Eventually(t, 10*time.Second, "10 answers", func() bool { return len(e.answers.snapshot()) == n })
			for id, got := range e.answers.snapshot() {
				if want := "infer 0 " + tc.result + " []"; got != want {
					t.Errorf("%s: got %q; want %q", id, got, want)
				}
			}
			if got := e.counter(t, "driftcar_grpc_requests_total", "arm", "live", "code", "OK"); got != n {
				t.Errorf("live OK calls: got %v; want %d", got, n)
			}
		})
	}
}

// TestGRPCShadowFractionAndMethods: the share is chosen by the request's
// id field, else the x-request-id metadata, exactly as for HTTP; calls
// other than ModelInfer are not mirrored.
func TestGRPCShadowFractionAndMethods(t *testing.T) {
	live := testupstream.StartGRPC(t, testupstream.GRPCAnswer("live", 0.5))
	shadow := testupstream.StartGRPC(t, testupstream.GRPCAnswer("shadow", 0.5))
	spec := grpcShadowSpec(shadow)
	spec.Fraction = 0.5
	e := newGRPCEnv(t, live, spec)
	want := 0
	for i := range 40 {
		id := "req-" + strconv.Itoa(i)
		if e.mirror.sampled([]byte(id)) {
			want++
		}
		// Half carry the id in the message, half in the metadata.
		req, kv := testupstream.InferRequest("m", id, row), []string(nil)
		if i%2 == 1 {
			req, kv = testupstream.InferRequest("m", "", row), []string{"x-request-id", id}
		}
		if _, err := e.infer(t, req, kv...); err != nil {
			t.Fatal(err)
		}
	}
	if want == 0 || want == 40 {
		t.Fatalf("fraction 0.5 picks %d of 40 ids; the test needs some of each", want)
	}
	e.waitCounter(t, float64(want), "driftcar_shadow_requests_total", "result", "ok")
	if got := e.counter(t, "driftcar_shadow_requests_total", "result", "skipped_not_sampled"); got != float64(40-want) {
		t.Errorf("skipped_not_sampled: got %v; want %d", got, 40-want)
	}
	ids := e.answers.snapshot()
	for i := range 40 {
		id := "req-" + strconv.Itoa(i)
		if _, ok := ids[id]; ok != e.mirror.sampled([]byte(id)) {
			t.Errorf("%s: answered %v; sampled %v", id, ok, !ok)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var in, out []byte
	if err := e.cc.Invoke(ctx, "/"+testupstream.InferenceService+"/ServerLive", &in, &out); err != nil {
		t.Fatal(err)
	}
	e.waitCounter(t, 1, "driftcar_shadow_requests_total", "result", "skipped_method")
}

// TestGRPCShadowSkipsCompressedCalls: a gzip-compressed ModelInfer is
// relayed unchanged but not mirrored, since the relay keeps no copy of a
// compressed message: it counts as skipped_method, never as an empty
// request sent to the shadow.
func TestGRPCShadowSkipsCompressedCalls(t *testing.T) {
	live := testupstream.StartGRPC(t, testupstream.GRPCAnswer("live", 0.5))
	e := newGRPCEnv(t, live, grpcShadowSpec(testupstream.StartGRPC(t, testupstream.GRPCAnswer("shadow", 0.5))))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, resp := testupstream.InferRequest("m", "gz-1", row), []byte(nil)
	if err := e.cc.Invoke(ctx, testupstream.MethodModelInfer, &req, &resp, grpc.UseCompressor(gzip.Name)); err != nil {
		t.Fatal(err)
	}
	if want := testupstream.InferResponse("live", "gz-1", 0.5); !bytes.Equal(resp, want) {
		t.Fatalf("live answer through the relay:\n%x\nwant\n%x", resp, want)
	}
	e.waitCounter(t, 1, "driftcar_shadow_requests_total", "result", "skipped_method")
	if _, err := e.infer(t, testupstream.InferRequest("m", "plain-1", row)); err != nil {
		t.Fatal(err)
	}
	e.waitCounter(t, 1, "driftcar_shadow_requests_total", "result", "ok") // the uncompressed call, after it
	if ids := e.answers.snapshot(); len(ids) != 1 {
		t.Errorf("answers: got %v; want only plain-1's", ids)
	}
}

// TestGRPCShadowQueueFull: a shadow that never answers fills the queue;
// the rest is dropped and counted, and live calls go on.
func TestGRPCShadowQueueFull(t *testing.T) {
	live := testupstream.StartGRPC(t, testupstream.GRPCAnswer("live", 0.5))
	release := make(chan struct{})
	hole := testupstream.StartGRPC(t, func(ctx context.Context, _ metadata.MD, _ []byte) ([]byte, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, status.Error(codes.Unavailable, "gone")
	})
	spec := grpcShadowSpec(hole)
	spec.Queue, spec.Workers, spec.Upstream.Timeout = 8, 2, time.Minute
	e := newGRPCEnv(t, live, spec)
	defer close(release)
	const n = 50
	for i := range n {
		if _, err := e.infer(t, testupstream.InferRequest("m", "id-"+strconv.Itoa(i), row)); err != nil {
			t.Fatal(err)
		}
		if i < spec.Workers { // each worker holds a copy before the queue fills: a deterministic count below
			testutil.Eventually(t, 10*time.Second, "a worker busy", func() bool { return e.counter(t, "driftcar_shadow_inflight") == float64(i+1) })
		}
	}
	if got, want := e.counter(t, "driftcar_shadow_requests_total", "result", "dropped_queue_full"), float64(n-spec.Queue-spec.Workers); got != want {
		t.Errorf("dropped_queue_full: got %v; want %v", got, want)
	}
	if q := e.counter(t, "driftcar_shadow_queue_length"); q != float64(spec.Queue) {
		t.Errorf("queue_length: got %v; want %d", q, spec.Queue)
	}
}

// TestGRPCTapOnlyForInferenceShadows: the gRPC side exists only with a
// grpc_address on an open-inference-v2 route.
func TestGRPCTapOnlyForInferenceShadows(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec func(*Spec)
		want bool
	}{
		{"v2 with grpc_address", func(*Spec) {}, true},
		{"no grpc_address", func(s *Spec) { s.Upstream.GRPCAddress = "" }, false},
		{"kserve-v1", func(s *Spec) { s.Protocol = 0 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := grpcShadowSpec("127.0.0.1:1")
			tc.spec(&spec)
			m, err := New(spec, Options{Metrics: newMetrics()})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { m.Stop(); m.Wait() }()
			if got := m.GRPCTap() != nil; got != tc.want {
				t.Errorf("GRPCTap() != nil: got %v; want %v", got, tc.want)
			}
		})
	}
}

func TestHTTPStatusOfCodes(t *testing.T) {
	want := map[codes.Code]int{
		codes.OK: 200, codes.InvalidArgument: 400, codes.NotFound: 404, codes.ResourceExhausted: 429,
		codes.Unavailable: 503, codes.DeadlineExceeded: 504, codes.Internal: 500, codes.Unimplemented: 501,
	}
	for c, w := range want {
		if got := HTTPStatus(c); got != w {
			t.Errorf("HTTPStatus(%s) = %d; want %d", c, got, w)
		}
	}
	if s := fmt.Sprint(HTTPStatus(codes.Unknown)); !strings.HasPrefix(s, "5") {
		t.Errorf("Unknown maps to %s; want a 5xx", s)
	}
}
