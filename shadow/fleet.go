package shadow

import (
	"reflect"
	"sync"

	"go.uber.org/zap"
)

// Fleet keeps one Mirror per route across config reloads: a route whose
// spec did not change, or changed only its fraction (a canary step), keeps
// its mirror, queue, workers and warm connections.
type Fleet struct {
	opts    Options
	mu      sync.Mutex
	mirrors map[string]*Mirror
}

// NewFleet returns an empty fleet whose mirrors share opts.
func NewFleet(opts Options) *Fleet {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &Fleet{opts: opts, mirrors: map[string]*Mirror{}}
}

// Update makes the fleet serve specs. It returns the mirror of each route
// and the mirrors that are no longer used; the caller stops those after it
// has swapped in a routing table without them. A spec that fails Check is
// an error, and nothing changes.
func (f *Fleet) Update(specs []Spec) (current map[string]*Mirror, retired []*Mirror, err error) {
	for _, spec := range specs {
		if err := spec.Check(); err != nil {
			return nil, nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	next := make(map[string]*Mirror, len(specs))
	for _, spec := range specs {
		if old := f.mirrors[spec.Route]; old != nil {
			have, want := old.Spec(), spec.withDefaults()
			sameFraction := want
			sameFraction.Fraction = have.Fraction
			if reflect.DeepEqual(have, sameFraction) {
				if want.Fraction != have.Fraction {
					old.setFraction(want.Fraction)
				}
				next[spec.Route] = old
				continue
			}
		}
		next[spec.Route], _ = New(spec, f.opts) // spec passed Check
	}
	for route, old := range f.mirrors {
		if next[route] != old {
			retired = append(retired, old)
			if next[route] == nil {
				f.opts.Metrics.Forget(route)
			}
		}
	}
	f.mirrors = next
	return next, retired, nil
}

// Close stops every mirror and waits for their workers, each bounded by its
// shadow timeout.
func (f *Fleet) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.mirrors {
		m.Stop()
	}
	for _, m := range f.mirrors {
		m.Wait()
	}
	f.mirrors = map[string]*Mirror{}
}

// Retire stops mirrors that Update returned as retired, without waiting.
func Retire(mirrors []*Mirror) {
	for _, m := range mirrors {
		m.Stop()
		go m.Wait()
	}
}
