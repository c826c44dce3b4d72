package sketch

import (
	"errors"
	"fmt"
	"sync"

	"github.com/driftcar/driftcar/internal/payload"
)

// Learner builds a profile from the first live rows ("learn" mode). It is
// safe for concurrent use.
type Learner struct {
	mu    sync.Mutex
	b     *builder
	nfeat int
	want  uint64
}

// NewLearner returns a Learner that takes the first samples rows. The
// profile it builds has the same form as one from BuildReference; pass
// opts.Prediction to profile the prediction too.
func NewLearner(specs []payload.FeatureSpec, samples int, opts BuildOptions) (*Learner, error) {
	if samples <= 0 {
		return nil, fmt.Errorf("cannot create learner: samples %d must be positive", samples)
	}
	if opts.Label != nil {
		return nil, errors.New("cannot create learner: labels are not part of live rows")
	}
	opts.defaults()
	b, err := newBuilder(specs, opts)
	if err != nil {
		return nil, err
	}
	return &Learner{b: b, nfeat: len(specs), want: uint64(samples)}, nil
}

// Observe adds the rows of a decoded batch, up to the wanted number, and
// reports whether the learner has all the rows it wants.
func (l *Learner) Observe(bt *payload.Batch) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if bt.Features != l.nfeat {
		return l.b.rows >= l.want
	}
	for r := 0; r < bt.Rows && l.b.rows < l.want; r++ {
		row := bt.Row(r)
		for j := range row {
			l.b.addValue(l.b.accs[j], &row[j])
		}
		if l.b.hasPrediction() {
			a := l.b.accs[len(l.b.accs)-1]
			if r < len(bt.Predictions) {
				l.b.addValue(a, &bt.Predictions[r])
			} else {
				l.b.addMissing(a)
			}
		}
		l.b.rows++
	}
	return l.b.rows >= l.want
}

// Done reports whether the learner has all the rows it wants.
func (l *Learner) Done() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.rows >= l.want
}

// Rows returns the rows observed so far.
func (l *Learner) Rows() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.rows
}

// Profile builds the profile from the rows observed so far. It may be
// called once; the learner must not be used after it.
func (l *Learner) Profile() (*Profile, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.rows == 0 {
		return nil, errors.New("cannot build reference: learner has no rows")
	}
	return l.b.profile("learn")
}
