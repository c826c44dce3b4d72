package grpcproxy

import (
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/driftcar/driftcar/config"
)

// armOverrideKey is the metadata key that picks an arm on routes that
// allow it, as config.ArmOverrideHeader does over HTTP.
const armOverrideKey = config.ArmOverrideHeader

// table is an immutable routing snapshot built from one config: the
// routes that serve gRPC, in config order.
type table struct {
	cfg    *config.Config
	routes []*route
}

type route struct {
	name        string
	pathPrefix  string
	arms        []*arm
	choose      chooser
	stickyKey   string // lower-case metadata key, or ""
	fallback    int    // arm index, or -1
	armOverride bool
	tap         Tap
}

type arm struct {
	name    string      // the upstream name; also the arm label
	backend *backend    // nil when the upstream has no grpc_address
	metrics *armMetrics // nil for the sidecar's own services
}

// observe counts a call to the arm that began at start.
func (a *arm) observe(code codes.Code, start time.Time) {
	if a.metrics != nil {
		a.metrics.observe(code, time.Since(start))
	}
}

// match returns the first route whose prefix matches method, or nil.
func (t *table) match(method string) *route {
	for _, r := range t.routes {
		if strings.HasPrefix(method, r.pathPrefix) {
			return r
		}
	}
	return nil
}

// pick chooses the arm for a call with metadata h; rnd draws from [0, n).
func (r *route) pick(h headerFields, rnd func(uint64) uint64) int {
	if len(r.arms) == 1 {
		return 0
	}
	if r.armOverride {
		if v := h.get(armOverrideKey); v != "" {
			for i, a := range r.arms {
				if a.name == v {
					return i
				}
			}
		}
	}
	if r.stickyKey != "" {
		if v := h.get(r.stickyKey); v != "" {
			if i := r.choose.sticky(v); i >= 0 {
				return i
			}
		}
	}
	return r.choose.random(rnd(r.choose.total))
}
