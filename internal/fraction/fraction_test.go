package fraction

import (
	"math"
	"strconv"
	"testing"
)

func TestShareAndNesting(t *testing.T) {
	const n = 100_000
	small, large := New(0.1), New(0.3)
	var inSmall, inLarge int
	for i := range n {
		id := []byte("req-" + strconv.Itoa(i))
		s, l := small.Has(id), large.Has(id)
		if s && !l {
			t.Fatalf("%s is in 0.1 but not in 0.3: shares must nest", id)
		}
		if s {
			inSmall++
		}
		if l {
			inLarge++
		}
	}
	// Binomial standard deviations are about 95 and 145; allow 5.
	for _, c := range []struct {
		got  int
		want float64
	}{{inSmall, 0.1 * n}, {inLarge, 0.3 * n}} {
		if math.Abs(float64(c.got)-c.want) > 5*math.Sqrt(c.want) {
			t.Errorf("got %d ids; want about %v", c.got, c.want)
		}
	}
	if New(0).Has([]byte("x")) || !New(1).Has([]byte("x")) {
		t.Error("0 must choose none and 1 every id")
	}
}
