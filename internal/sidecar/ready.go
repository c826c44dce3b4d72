package sidecar

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/driftcar/driftcar/config"
)

func (s *Sidecar) readyErr() error {
	if s.opts.XDS && !s.synced.Load() {
		return errors.New("waiting for the first config from the xDS control plane")
	}
	return *s.ready.Load()
}

// probeLoop dials every route's baseline (first) upstream each interval;
// the sidecar is ready while all of them accept a connection.
func (s *Sidecar) probeLoop(ctx context.Context) {
	ticker := time.NewTicker(s.opts.ProbeInterval)
	defer ticker.Stop()
	var sinks string
	for {
		err := probeLive(ctx, s.cfg.Load())
		s.ready.Store(&err)
		s.reportSinks(&sinks)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func probeLive(ctx context.Context, cfg *config.Config) error {
	seen := map[string]bool{}
	for _, r := range cfg.Routes {
		name := r.Split[0].Upstream
		if seen[name] {
			continue
		}
		seen[name] = true
		u, ok := cfg.Upstreams[name]
		if !ok {
			return fmt.Errorf("live upstream %q: waiting for its cluster from the control plane", name)
		}
		d := net.Dialer{Timeout: time.Duration(u.ConnectTimeout)}
		var err error
		for _, addr := range u.Endpoints() {
			var conn net.Conn
			if conn, err = d.DialContext(ctx, "tcp", addr); err == nil {
				_ = conn.Close()
				break
			}
		}
		if err != nil {
			return fmt.Errorf("live upstream %q at %s: %w", name, strings.Join(u.Endpoints(), ", "), err)
		}
	}
	return nil
}
