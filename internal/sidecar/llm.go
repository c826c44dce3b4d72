package sidecar

import (
	"iter"

	"go.uber.org/zap"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/llm"
)

// llmCounters returns the token counters of cfg's openai routes: the
// running counter of a route that keeps the protocol, else a new one.
// Counters of routes cfg drops are returned as retired.
func (s *Sidecar) llmCounters(cfg *config.Config) (next map[string]*llm.Counter, retired []*llm.Counter) {
	next = map[string]*llm.Counter{}
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		if proto, err := r.PayloadProtocol(); err != nil || proto != payload.OpenAI {
			continue
		}
		if c := s.counters[r.Name]; c != nil {
			next[r.Name] = c
			continue
		}
		c, err := llm.New(llm.Options{Route: r.Name, Protocol: payload.OpenAI, Metrics: s.llmMetrics, Panics: s.panics})
		if err != nil {
			// The config's validation checked the protocol already.
			s.log.Error("cannot count tokens", zap.String("route", r.Name), zap.Error(err))
			continue
		}
		next[r.Name] = c
	}
	for name, c := range s.counters {
		if next[name] != c {
			retired = append(retired, c)
			s.llmMetrics.Forget(name)
		}
	}
	return next, retired
}

func stopCounters(cs iter.Seq[*llm.Counter]) {
	for c := range cs {
		c.Stop()
	}
}
