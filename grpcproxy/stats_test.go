package grpcproxy

import (
	"context"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// The guard's counts: every finished call is a request; the upstream's
// own failures (5xx-like codes) are errors, the client's are not; a
// SetWeight reaches the serving table.
func TestArmStatsAndSetWeight(t *testing.T) {
	live, canary := startUpstream(t, "live"), startUpstream(t, "canary")
	f := startFront(t, twoArms(live.addr, canary.addr, ""), Options{})
	callWith := func(code codes.Code) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if code != codes.OK {
			ctx = metadata.AppendToOutgoingContext(ctx, "x-code", strconv.Itoa(int(code)))
		}
		_ = f.cc.Invoke(ctx, methodInfer, &Frame{b: inferRequest("m", "s", 1)}, new(Frame))
	}
	for _, c := range []codes.Code{codes.OK, codes.OK, codes.Unavailable, codes.Internal, codes.InvalidArgument, codes.NotFound} {
		callWith(c)
	}
	st, ok := f.srv.ArmStats("infer", "live")
	if !ok || st.Requests != 6 || st.Errors != 2 {
		t.Errorf("live stats: got %+v, %v; want 6 requests, 2 errors", st, ok)
	}
	if n := len(st.Buckets); n != len(latencyBuckets) || st.Buckets[n-1] > st.Requests || len(st.Bounds) != n {
		t.Errorf("buckets: got %d buckets (last %d) and %d bounds", n, st.Buckets[n-1], len(st.Bounds))
	}
	if _, ok := f.srv.ArmStats("infer", "nope"); ok {
		t.Error("ArmStats of an unknown arm: got ok")
	}

	if err := f.srv.SetWeight("infer", "live", 0); err == nil {
		t.Error("SetWeight leaving no weight: got nil error")
	}
	if err := f.srv.SetWeight("infer", "canary", 1); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.SetWeight("infer", "live", 0); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		callWith(codes.OK)
	}
	if _, n := canary.seen(); n != 5 {
		t.Errorf("canary calls after SetWeight: got %d; want 5", n)
	}
	if st := f.srv.Stats("infer"); len(st) != 2 || st[0].Requests != 6 || st[1].Requests != 5 {
		t.Errorf("Stats: got %+v", st)
	}
	if !f.srv.Serves("infer") || f.srv.Serves("other") {
		t.Error("Serves: wrong answer")
	}
}
