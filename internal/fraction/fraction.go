package fraction

import (
	"math"

	"github.com/cespare/xxhash/v2"
)

// Fraction is a share of request ids in 0..1.
type Fraction struct {
	value     float64
	threshold uint64 // chosen when hash(id) < threshold
	all       bool
}

// New returns the share f; f <= 0 chooses none, f >= 1 every id.
func New(f float64) Fraction {
	switch {
	case f >= 1:
		return Fraction{value: f, all: true}
	case f > 0:
		return Fraction{value: f, threshold: uint64(f * math.MaxUint64)}
	}
	return Fraction{value: f}
}

// Value is the share New was given.
func (f Fraction) Value() float64 { return f.value }

// All reports whether the share holds every id.
func (f Fraction) All() bool { return f.all }

// Has reports whether id is in the share.
func (f Fraction) Has(id []byte) bool {
	return f.all || (f.threshold > 0 && xxhash.Sum64(id) < f.threshold)
}
