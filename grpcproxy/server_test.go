package grpcproxy

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/driftcar/driftcar/config"
	dtestutil "github.com/driftcar/driftcar/internal/testutil"
)

func TestMetricsLint(t *testing.T) {
	live := startUpstream(t, "live")
	f := startFront(t, twoArms(live.addr, live.addr, ""), Options{})
	if err := f.cc.Invoke(ctxTimeout(t, 5*time.Second), methodInfer, &Frame{b: inferRequest("m", "l", 1)}, new(Frame)); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.GatherAndLint(f.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestSecondServerSharesCollectors: a Server rebuilt on the same registry
// (a listener restart) does not fail on registration.
func TestSecondServerSharesCollectors(t *testing.T) {
	cfg, err := config.Parse([]byte(twoArms("127.0.0.1:1", "127.0.0.1:2", "")))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	for range 2 {
		s, err := New(cfg, Options{Registerer: reg})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New(cfg, Options{}); err == nil {
		t.Errorf("New without a Registerer: got no error")
	}
}

// TestShutdownDrains: a call in flight finishes, a health watch ends, and
// Shutdown returns before its deadline.
func TestShutdownDrains(t *testing.T) {
	live := startUpstream(t, "live")
	cfg, err := config.Parse([]byte(twoArms(live.addr, live.addr, "")))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, Options{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	cc := dial(t, ln.Addr().String())

	w, err := healthpb.NewHealthClient(cc).Watch(ctxTimeout(t, 10*time.Second), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil {
		t.Fatal(err)
	}
	slow := make(chan error, 1)
	go func() {
		ctx := metadata.AppendToOutgoingContext(ctxTimeout(t, 10*time.Second), "x-sleep", "200ms")
		slow <- cc.Invoke(ctx, methodInfer, &Frame{b: inferRequest("m", "slow", 1)}, new(Frame))
	}()
	// Shut down once the slow call is at the upstream.
	dtestutil.Eventually(t, 5*time.Second, "the slow call reaches the upstream", func() bool {
		_, calls := live.seen()
		return calls == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Shutdown took %s", d)
	}
	if err := <-slow; err != nil {
		t.Errorf("the call in flight failed: %v", err)
	}
	if _, err := w.Recv(); status.Code(err) != codes.Unavailable {
		t.Errorf("watch after Shutdown: %v; want Unavailable", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
