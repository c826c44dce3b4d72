package sketch

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/payload"
)

// Sink keeps benchmark results alive.
var Sink atomic.Uint64

// BenchmarkDecodeObserveV1 decodes a 20-feature KServe v1 row with its
// response and adds it to the live state: the per-row sampler cost.
//
//	go test -run '^$' -bench DecodeObserve -benchmem -cpu 1 ./sampler/
func BenchmarkDecodeObserveV1(b *testing.B) {
	specs, pred := benchSpecs()
	p := benchProfile(b)
	d, err := payload.NewDecoder(payload.KServeV1, specs, pred, payload.DecoderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	st, err := NewState(p, specs, pred, StateOptions{Now: clk.Now})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	reqs := make([][]byte, 64)
	for i := range reqs {
		reqs[i] = benchRequest(rng)
	}
	resp := []byte(`{"predictions": [0.4217]}`)
	b.SetBytes(int64(len(reqs[0]) + len(resp)))
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for i := 0; b.Loop(); i++ {
		bt, err := d.Decode(reqs[i%len(reqs)], resp)
		if err != nil || bt.Rows != 1 {
			b.Fatalf("Decode: %v rows %d", err, bt.Rows)
		}
		st.Observe(bt)
		rows += bt.Rows
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	Sink.Add(uint64(rows))
}

// BenchmarkDecodeV1 is the decode half alone (baseline for the above).
func BenchmarkDecodeV1(b *testing.B) {
	specs, pred := benchSpecs()
	d, _ := payload.NewDecoder(payload.KServeV1, specs, pred, payload.DecoderOptions{})
	req := benchRequest(rand.New(rand.NewPCG(1, 2)))
	resp := []byte(`{"predictions": [0.4217]}`)
	b.SetBytes(int64(len(req) + len(resp)))
	b.ReportAllocs()
	for b.Loop() {
		bt, _ := d.Decode(req, resp)
		Sink.Add(uint64(bt.Rows))
	}
}

// BenchmarkObserveParallel measures State.Observe from GOMAXPROCS
// goroutines, each with its own Decoder.
func BenchmarkObserveParallel(b *testing.B) {
	specs, pred := benchSpecs()
	p := benchProfile(b)
	st, _ := NewState(p, specs, pred, StateOptions{})
	req := benchRequest(rand.New(rand.NewPCG(1, 2)))
	resp := []byte(`{"predictions": [0.4217]}`)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		d, _ := payload.NewDecoder(payload.KServeV1, specs, pred, payload.DecoderOptions{})
		bt, _ := d.Decode(req, resp)
		for pb.Next() {
			st.Observe(bt)
		}
	})
}
