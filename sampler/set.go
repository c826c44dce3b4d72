package sampler

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"

	"github.com/driftcar/driftcar/internal/panics"

	"go.uber.org/zap"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// Model is what all sampling routes of one config share.
type Model struct {
	Features   []payload.FeatureSpec
	Prediction *payload.PredictionSpec
	State      sketch.StateOptions
	// ReferenceFile is the reference profile. With Learn, it is created
	// once the reference is learned, and reused when it exists.
	ReferenceFile string
	// Reference, when not nil, is the content of ReferenceFile, already
	// read by the caller.
	Reference []byte
	Learn     *Learn
}

// Learn builds the reference from the first live rows.
type Learn struct {
	Samples int
	Bins    int
}

// Options are a Set's logger and panic counter.
type Options struct {
	Logger *zap.Logger
	// Panics counts the panics the decoding workers recover from. Nil
	// lets a panic crash the process.
	Panics *panics.Counter
}

// Set is the sampling of one effective config: the reference and a Tap
// per sampling route.
type Set struct {
	model   Model
	log     *zap.Logger
	panics  *panics.Counter
	taps    map[string]*Tap
	order   []string
	profile atomic.Pointer[sketch.Profile]
	learner *sketch.Learner
	learned sync.Once
}

// NewSet loads (or prepares to learn) the reference and starts a Tap per
// route. A reference that is missing, corrupt or lacks a configured
// feature is an error naming the problem.
func NewSet(model Model, routes []RouteSpec, opts Options) (*Set, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	s := &Set{model: model, log: log, panics: opts.Panics, taps: map[string]*Tap{}}
	for _, r := range routes {
		if _, err := payload.NewDecoder(r.Protocol, model.Features, model.Prediction, payload.DecoderOptions{}); err != nil {
			return nil, fmt.Errorf("cannot sample route %q: %w", r.Route, err)
		}
	}
	var profile *sketch.Profile
	var err error
	if model.Reference != nil {
		profile, err = sketch.LoadProfile(model.Reference)
	} else {
		profile, err = sketch.LoadProfileFile(model.ReferenceFile)
	}
	switch {
	case err == nil:
	case model.Learn != nil && errors.Is(err, fs.ErrNotExist):
		s.learner, err = sketch.NewLearner(model.Features, model.Learn.Samples, sketch.BuildOptions{
			Bins:       model.Learn.Bins,
			Prediction: model.Prediction,
		})
		if err != nil {
			return nil, fmt.Errorf("cannot learn reference: %w", err)
		}
	default:
		return nil, fmt.Errorf("reference %s: %w", model.ReferenceFile, err)
	}
	for _, r := range routes {
		t := newTap(r, s)
		s.taps[r.Route] = t
		s.order = append(s.order, r.Route)
	}
	if profile != nil {
		if err := s.observeWith(profile); err != nil {
			return nil, err
		}
	}
	for _, t := range s.taps {
		t.start()
	}
	return s, nil
}

// observeWith gives every tap a State over profile.
func (s *Set) observeWith(p *sketch.Profile) error {
	states := make(map[string]*tapState, len(s.taps))
	for route, t := range s.taps {
		st, err := sketch.NewState(p, s.model.Features, s.model.Prediction, s.model.State)
		if err != nil {
			return fmt.Errorf("reference %s does not fit the config: %w", s.model.ReferenceFile, err)
		}
		ts := &tapState{route: st}
		if s.model.Prediction != nil && len(t.spec.Arms) > 1 {
			for _, arm := range t.spec.Arms {
				ast, err := sketch.NewState(p, nil, s.model.Prediction, s.model.State)
				if err != nil {
					return fmt.Errorf("reference %s does not fit the config: %w", s.model.ReferenceFile, err)
				}
				ts.arms = append(ts.arms, armState{arm: arm, st: ast})
			}
		}
		states[route] = ts
	}
	for route, ts := range states {
		s.taps[route].state.Store(ts)
	}
	s.profile.Store(p)
	return nil
}

// learn feeds the learner; the batch that completes it builds, writes and
// switches to the learned reference.
func (s *Set) learn(b *payload.Batch) {
	if s.learner == nil || !s.learner.Observe(b) {
		return
	}
	s.learned.Do(func() {
		p, err := s.learner.Profile()
		if err == nil {
			err = p.WriteFile(s.model.ReferenceFile)
		}
		if err == nil {
			err = s.observeWith(p)
		}
		if err != nil {
			s.log.Error("cannot use the learned reference; sampling stays in learn mode", zap.Error(err))
			return
		}
		s.log.Info("reference learned", zap.String("file", s.model.ReferenceFile),
			zap.Uint64("rows", p.Rows), zap.String("hash", p.Hash))
	})
}

// Tap returns the tap of route, or nil.
func (s *Set) Tap(route string) *Tap { return s.taps[route] }

// Routes lists the sampling routes in config order.
func (s *Set) Routes() []string { return s.order }

// Profile returns the reference in use, or nil while it is being learned.
func (s *Set) Profile() *sketch.Profile { return s.profile.Load() }

// Learning reports the learner's progress, or ok=false when not learning.
func (s *Set) Learning() (rows uint64, want int, ok bool) {
	if s.learner == nil || s.profile.Load() != nil {
		return 0, 0, false
	}
	return s.learner.Rows(), s.model.Learn.Samples, true
}

// Stop ends the taps' workers; queued copies are dropped.
func (s *Set) Stop() {
	for _, t := range s.taps {
		t.halt()
	}
}
