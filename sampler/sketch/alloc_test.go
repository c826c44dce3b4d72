//go:build !race

package sketch

import (
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/payload"
)

// TestAllocationDecodeObserve locks in the zero-allocation steady state of
// the sampler's per-row path: decode a 20-feature v1 row and its response,
// then add it to the live state.
func TestAllocationDecodeObserve(t *testing.T) {
	specs, pred := benchSpecs()
	p := benchProfile(t)
	d, err := payload.NewDecoder(payload.KServeV1, specs, pred, payload.DecoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	st, err := NewState(p, specs, pred, StateOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	rng := newRand(3)
	reqs := [][]byte{benchRequest(rng), benchRequest(rng), benchRequest(rng)}
	resp := []byte(`{"predictions": [0.4217]}`)
	i := 0
	run := func() {
		bt, err := d.Decode(reqs[i%len(reqs)], resp)
		if err != nil || bt.Rows != 1 {
			t.Fatalf("Decode: %v, %d rows", err, bt.Rows)
		}
		st.Observe(bt)
		i++
	}
	run() // warm the scratch state
	if n := testing.AllocsPerRun(1000, run); n != 0 {
		t.Fatalf("decode+observe: got %v allocs per row; want 0", n)
	}
}
