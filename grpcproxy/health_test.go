package grpcproxy

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

func TestHealth(t *testing.T) {
	live := startUpstream(t, "live")
	var notReady atomic.Bool
	ready := func() error {
		if notReady.Load() {
			return errors.New("reference not loaded")
		}
		return nil
	}
	f := startFront(t, twoArms(live.addr, live.addr, ""), Options{Ready: ready})
	f.srv.health.poll = 10 * time.Millisecond
	hc := healthpb.NewHealthClient(f.cc)

	check := func() healthpb.HealthCheckResponse_ServingStatus {
		t.Helper()
		resp, err := hc.Check(ctxTimeout(t, 5*time.Second), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		return resp.GetStatus()
	}
	if got := check(); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("ready: got %v; want SERVING", got)
	}
	w, err := hc.Watch(ctxTimeout(t, 5*time.Second), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := w.Recv(); err != nil || m.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first watch message %v, %v; want SERVING", m, err)
	}
	notReady.Store(true)
	if got := check(); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("not ready: got %v; want NOT_SERVING", got)
	}
	if m, err := w.Recv(); err != nil || m.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("watch after the change: %v, %v; want NOT_SERVING", m, err)
	}
	_, err = hc.Check(ctxTimeout(t, 5*time.Second), &healthpb.HealthCheckRequest{Service: "inference.GRPCInferenceService"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("named service: got %v; want NotFound", err)
	}
}
