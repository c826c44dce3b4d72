package grpcproxy

import (
	"context"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// healthPoll is how often Watch re-reads readiness.
const healthPoll = time.Second

// health is grpc.health.v1 for the whole server (service ""), SERVING
// while ready returns nil.
type health struct {
	healthpb.UnimplementedHealthServer
	ready func() error
	log   *zap.Logger
	poll  time.Duration
	stop  chan struct{} // closed by Shutdown: watches end
}

func (h *health) status(service string) (healthpb.HealthCheckResponse_ServingStatus, error) {
	if service != "" {
		return healthpb.HealthCheckResponse_SERVICE_UNKNOWN, status.Errorf(codes.NotFound, "unknown service %q: driftcar reports only the overall health (\"\")", service)
	}
	if h.ready == nil || h.ready() == nil {
		return healthpb.HealthCheckResponse_SERVING, nil
	}
	return healthpb.HealthCheckResponse_NOT_SERVING, nil
}

func (h *health) Check(_ context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	st, err := h.status(req.GetService())
	if err != nil {
		return nil, err
	}
	return &healthpb.HealthCheckResponse{Status: st}, nil
}

func (h *health) List(context.Context, *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	st, _ := h.status("")
	return &healthpb.HealthListResponse{Statuses: map[string]*healthpb.HealthCheckResponse{"": {Status: st}}}, nil
}

// Watch sends the status now and then on every change, until the client
// goes away or the server stops.
func (h *health) Watch(req *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	defer func() {
		if err := recover(); err != nil {
			h.log.Error("health watch panicked", zap.Any("panic", err), zap.Stack("stack"))
		}
	}()
	ticker := time.NewTicker(h.poll)
	defer ticker.Stop()
	last := healthpb.HealthCheckResponse_ServingStatus(-1)
	for {
		st, _ := h.status(req.GetService())
		if st != last {
			if err := stream.Send(&healthpb.HealthCheckResponse{Status: st}); err != nil {
				return err
			}
			last = st
		}
		select {
		case <-ticker.C:
		case <-h.stop:
			return status.Error(codes.Unavailable, "driftcar: shutting down")
		case <-stream.Context().Done():
			return status.FromContextError(stream.Context().Err()).Err()
		}
	}
}
