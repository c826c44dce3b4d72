package sidecar

import (
	"time"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/shadow"
)

// shadowSpecs maps each route's shadow section onto a shadow.Spec.
func shadowSpecs(cfg *config.Config) ([]shadow.Spec, error) {
	var specs []shadow.Spec
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		s := r.Shadow
		if s == nil {
			continue
		}
		proto, err := r.PayloadProtocol()
		if err != nil {
			return nil, err
		}
		up := cfg.Upstreams[s.Upstream]
		specs = append(specs, shadow.Spec{
			Route: r.Name,
			Upstream: shadow.Upstream{
				Name:           s.Upstream,
				Address:        up.Endpoints()[0],
				GRPCAddress:    up.GRPCAddress,
				Timeout:        time.Duration(up.Timeout),
				ConnectTimeout: time.Duration(up.ConnectTimeout),
				MaxConns:       up.MaxConns,
			},
			Fraction:     *s.Fraction,
			Queue:        s.Queue,
			QueueBytes:   int64(s.QueueBytes),
			MaxBody:      int(s.MaxBody),
			MaxLiveBody:  int(s.MaxLiveBody),
			Methods:      s.Methods,
			StripHeaders: s.StripHeaders,
			Workers:      s.Workers,
			PairTimeout:  time.Duration(s.PairTimeout),
			Protocol:     proto,
			Prediction:   cfg.ComparedPrediction(r),
			Compare: shadow.Compare{
				AbsTolerance: *s.Compare.AbsTolerance,
				RelTolerance: *s.Compare.RelTolerance,
			},
		})
		if err := specs[len(specs)-1].Check(); err != nil {
			return nil, err
		}
	}
	return specs, nil
}
