package grpcproxy

import (
	"math"

	"github.com/cespare/xxhash/v2"
)

// chooser picks one arm index for a call. It is the HTTP proxy's chooser
// (proxy/selection.go), duplicated because that one is unexported: the two
// must stay identical, so that a sticky key gets the same arm over REST
// and gRPC. It is immutable and built once per table.
type chooser struct {
	cumulative []uint64 // cumulative weights, len = arms
	total      uint64
	weights    []float64
	armSeeds   []uint64 // per-arm hash seeds for sticky choice
}

func newChooser(names []string, weights []int) chooser {
	c := chooser{
		cumulative: make([]uint64, len(weights)),
		weights:    make([]float64, len(weights)),
		armSeeds:   make([]uint64, len(weights)),
	}
	for i, w := range weights {
		c.total += uint64(w)
		c.cumulative[i] = c.total
		c.weights[i] = float64(w)
		c.armSeeds[i] = xxhash.Sum64String(names[i])
	}
	return c
}

// random picks an arm with probability weight/total, given r uniform in
// [0, total).
func (c *chooser) random(r uint64) int {
	for i, cum := range c.cumulative {
		if r < cum {
			return i
		}
	}
	return len(c.cumulative) - 1
}

// sticky picks an arm by weighted rendezvous hashing of key: each arm
// scores -ln(u)/w with u uniform from hash(key, arm), and the lowest score
// wins.
func (c *chooser) sticky(key string) int {
	h := xxhash.Sum64String(key)
	best, bestScore := -1, math.Inf(1)
	for i, w := range c.weights {
		if w == 0 {
			continue
		}
		u := unitFloat(mix64(h ^ c.armSeeds[i]))
		score := -math.Log(u) / w
		if score < bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

// mix64 is the splitmix64 finalizer: a bijective avalanche of x.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// unitFloat maps x to the open interval (0, 1).
func unitFloat(x uint64) float64 {
	return (float64(x>>11) + 0.5) / (1 << 53)
}
