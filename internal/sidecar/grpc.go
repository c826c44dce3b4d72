package sidecar

import (
	"fmt"
	"net"
	"strings"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/grpcproxy"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/sampler"
	"github.com/driftcar/driftcar/shadow"
)

// modelInferSuffix ends the method path of a unary Open Inference call.
const modelInferSuffix = "/ModelInfer"

// newGRPC builds the gRPC relay and binds its listener when cfg sets
// grpc_listen; without it, it does nothing. Its routes and taps come with
// the first apply.
func (s *Sidecar) newGRPC(cfg *config.Config) error {
	if cfg.GRPCListen == "" {
		return nil
	}
	srv, err := grpcproxy.New(cfg, grpcproxy.Options{
		Logger:     s.log,
		Registerer: s.reg,
		Ready:      s.readyErr,
	})
	if err != nil {
		return err
	}
	s.grpc = srv
	if s.grpcLn, err = net.Listen("tcp", cfg.GRPCListen); err != nil {
		return fmt.Errorf("cannot listen on %s (grpc_listen): %w", cfg.GRPCListen, err)
	}
	return nil
}

// GRPCAddr is the bound gRPC address, or "" without grpc_listen.
func (s *Sidecar) GRPCAddr() string {
	if s.grpcLn == nil {
		return ""
	}
	return s.grpcLn.Addr().String()
}

// applyGRPC swaps the gRPC relay onto cfg, with a sampling tap on each
// sampled open-inference-v2 route of set, its mirror's and the ground
// truth's capture.
func (s *Sidecar) applyGRPC(cfg *config.Config, set *sampler.Set, mirrors map[string]*shadow.Mirror, truth *truthRuntime) {
	if s.grpc == nil {
		return
	}
	taps := grpcproxy.Taps{}
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		if !config.ServesGRPC(r, cfg.Upstreams) {
			continue
		}
		if p, err := r.PayloadProtocol(); err != nil || p != payload.OpenInferenceV2 {
			continue
		}
		var rt grpcTaps
		if set != nil {
			if t := set.Tap(r.Name); t != nil {
				rt = append(rt, grpcSampler{t})
			}
		}
		if m := mirrors[r.Name]; m != nil {
			if t := m.GRPCTap(); t != nil {
				rt = append(rt, t)
			}
		}
		if truth != nil {
			if t := truth.capture.GRPCTap(r.Name); t != nil {
				rt = append(rt, t)
			}
		}
		switch len(rt) {
		case 0:
		case 1:
			taps[r.Name] = rt[0]
		default:
			taps[r.Name] = rt
		}
	}
	// Apply fails only when a client for a new grpc_address cannot be
	// built, which the validated address rules out; the previous table
	// keeps serving then.
	if err := s.grpc.Apply(cfg, taps); err != nil {
		s.log.Error("cannot apply the config to the grpc listener; it keeps the previous routes", zap.Error(err))
	}
}

// grpcTaps hands each call to every tap of a route, in order.
type grpcTaps []grpcproxy.Tap

func (ts grpcTaps) Call(c *grpcproxy.Call) {
	for _, t := range ts {
		t.Call(c)
	}
}

// grpcSampler feeds a route's unary ModelInfer calls to its sampling tap.
type grpcSampler struct{ t *sampler.Tap }

var _ grpcproxy.Tap = grpcSampler{}

func (g grpcSampler) Call(c *grpcproxy.Call) {
	if c.Request == nil || !strings.HasSuffix(c.Method, modelInferSuffix) {
		return
	}
	resp := c.Response
	if c.Code != codes.OK {
		resp = nil
	}
	g.t.SampleModelInfer(c.Request, resp, c.Arm)
}
