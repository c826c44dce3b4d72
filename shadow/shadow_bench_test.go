package shadow

import (
	"testing"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/testupstream"
)

// BenchmarkHandlerWithShadow is the proxy request path with every request
// mirrored: the copy, the hand-off and the live copy for pairing.
func BenchmarkHandlerWithShadow(b *testing.B) {
	live := testupstream.Start(b, testupstream.Answer("live", `{"predictions":[0.5]}`))
	shadow := testupstream.Start(b, testupstream.Answer("shadow", `{"predictions":[0.5]}`))
	for _, fraction := range []float64{0, 1} {
		name := map[float64]string{0: "shadow=off", 1: "shadow=100%"}[fraction]
		b.Run(name, func(b *testing.B) {
			spec := shadowSpec(shadow)
			spec.Fraction = fraction
			e := newEnv(b, live, spec, false)
			h := testupstream.NewHarness(e.srv.Handler(), "/v1/models/m:predict", v1Request)
			h.ServeOK(b)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeOK(b)
			}
		})
	}
}

// comparePairs are a live and a shadow answer of a batch of eight, per
// protocol layout, that differ in one row.
var comparePairs = []struct {
	name         string
	proto        payload.Protocol
	live, shadow []byte
}{
	{"kserve-v1", payload.KServeV1,
		[]byte(`{"predictions":[0.11,0.52,0.93,0.14,0.45,0.76,0.27,0.88]}`),
		[]byte(`{"predictions":[0.11,0.52,0.93,0.14,0.45,0.76,0.27,0.18]}`)},
	{"kserve-v1-scores", payload.KServeV1,
		[]byte(`{"predictions":[[0.1,0.9],[0.8,0.2],[0.3,0.7],[0.6,0.4],[0.1,0.9],[0.8,0.2],[0.3,0.7],[0.6,0.4]]}`),
		[]byte(`{"predictions":[[0.1,0.9],[0.8,0.2],[0.3,0.7],[0.6,0.4],[0.1,0.9],[0.8,0.2],[0.3,0.7],[0.4,0.6]]}`)},
	{"open-inference-v2", payload.OpenInferenceV2,
		[]byte(`{"model_name":"m","outputs":[{"name":"score","shape":[8],"datatype":"FP32","data":[0.11,0.52,0.93,0.14,0.45,0.76,0.27,0.88]}]}`),
		[]byte(`{"model_name":"m","outputs":[{"name":"score","shape":[8],"datatype":"FP32","data":[0.11,0.52,0.93,0.14,0.45,0.76,0.27,0.18]}]}`)},
}

// BenchmarkComparePair is the shadow worker's comparison of one pair.
func BenchmarkComparePair(b *testing.B) {
	for _, p := range comparePairs {
		b.Run(p.name, func(b *testing.B) {
			c, err := newComparator(Spec{Protocol: p.proto, Compare: Compare{AbsTolerance: 1e-6}}.withDefaults())
			if err != nil {
				b.Fatal(err)
			}
			var v verdict
			b.ReportAllocs()
			b.SetBytes(int64(len(p.live) + len(p.shadow)))
			for b.Loop() {
				c.comparePair(200, p.live, payload.JSONBody, false, 200, p.shadow, payload.JSONBody, &v)
			}
		})
	}
}
