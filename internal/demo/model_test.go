package demo

import (
	"math"
	"testing"
)

// TestShadowFlips: the shadow's decisions differ from live's on the
// designed share of any traffic, undrifted or drifted, and it is the less
// accurate model on both; the concept change costs live accuracy.
func TestShadowFlips(t *testing.T) {
	gen := newGenerator(11)
	train, labels := gen.labelled(20000)
	live := trainModel(train, labels, 1e-3)
	shadow := live.withFlips(0.08)
	accuracy := map[bool]float64{}
	for _, tc := range []struct {
		name   string
		d      *drift
		minGap float64 // live − shadow accuracy
	}{{"undrifted", nil, 0.025}, {"drifted", &injected, 0.005}} {
		const n = 40000
		var differ, liveOK, shadowOK float64
		for range n {
			a := gen.next(tc.d)
			l := gen.label(a, tc.d)
			dl, ds := b2f(live.approve(a) >= 0.5), b2f(shadow.approve(a) >= 0.5)
			differ += b2f(dl != ds)
			liveOK += b2f(dl == l)
			shadowOK += b2f(ds == l)
		}
		share, gap := differ/n, (liveOK-shadowOK)/n
		accuracy[tc.d != nil] = liveOK / n
		t.Logf("%s: decisions differ on %.4f, live accuracy %.4f, shadow %.4f", tc.name, share, liveOK/n, shadowOK/n)
		if math.Abs(share-0.08) > 0.005 { // 3.7σ at n = 40000
			t.Errorf("%s: decisions differ on %.4f; want 0.08 ± 0.005", tc.name, share)
		}
		if gap < tc.minGap {
			t.Errorf("%s: shadow %.4f less accurate than live; want at least %.3f", tc.name, gap, tc.minGap)
		}
	}
	if drop := accuracy[false] - accuracy[true]; drop < 0.08 {
		t.Errorf("the concept change costs live %.4f accuracy; want at least 0.08", drop)
	}
}

// TestFlipsSameOverGRPC: the flipped applicants are the same whether the
// model server reads them from JSON (float64) or from FP32 tensors, so
// the REST and gRPC shadows disagree with live on the same requests.
func TestFlipsSameOverGRPC(t *testing.T) {
	gen := newGenerator(5)
	flips := 0
	for i := range 20000 {
		a := gen.next(&injected)
		got, _, err := readApplicant(inferRequest("r", a))
		if err != nil {
			t.Fatal(err)
		}
		if flipped(a, 0.08) != flipped(got, 0.08) {
			t.Fatalf("applicant %d %+v: flipped %v from JSON, %v from FP32 %+v", i, a, flipped(a, 0.08), flipped(got, 0.08), got)
		}
		flips += int(b2f(flipped(a, 0.08)))
	}
	if flips < 1400 || flips > 1800 {
		t.Errorf("%d of 20000 flipped; want about 1600", flips)
	}
}
