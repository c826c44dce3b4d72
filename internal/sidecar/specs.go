package sidecar

import (
	"time"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/shadow"
)

// shadowSpecs maps each route's shadow section onto a shadow.Spec.
func shadowSpecs(cfg *config.Config) []shadow.Spec {
	var specs []shadow.Spec
	for _, r := range cfg.Routes {
		s := r.Shadow
		if s == nil {
			continue
		}
		up := cfg.Upstreams[s.Upstream]
		specs = append(specs, shadow.Spec{
			Route: r.Name,
			Upstream: shadow.Upstream{
				Name:           s.Upstream,
				Address:        up.Endpoints()[0],
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
			Protocol:     shadow.Protocol(r.Protocol),
			Compare: shadow.Compare{
				AbsTolerance: *s.Compare.AbsTolerance,
				RelTolerance: *s.Compare.RelTolerance,
				Path:         s.Compare.Path,
			},
		})
	}
	return specs
}
