package prometheus

import "math"

// PSI is the population stability index of the live counts of a numeric
// feature's bins against the reference, as the recording rule
// model_route_feature_hash:driftcar_feature_psi:15m computes it:
//
//	a_i = (live_i + 0.5) / (n + 0.5·B),  e_i = (ratio_i·m + 0.5) / (m + 0.5·B),
//	PSI = Σ (a_i − e_i)·ln(a_i / e_i),
//
// where n = Σ live_i, B = len(live) and m is the reference row count.
// ratio holds the reference share of each bin (driftcar_feature_reference_bin_ratio)
// and must have the length of live. This is detector.PSI with reference
// counts ratio_i·m.
func PSI(ratio []float64, m float64, live []float64) float64 {
	var n float64
	for _, c := range live {
		n += c
	}
	b := float64(len(live))
	var psi float64
	for i := range live {
		a := (live[i] + 0.5) / (n + 0.5*b)
		e := (ratio[i]*m + 0.5) / (m + 0.5*b)
		psi += (a - e) * math.Log(a/e)
	}
	return psi
}

// BinnedKS is the largest distance between the live and the reference CDF
// at the bins' upper edges, as the recording rule
// model_route_feature_hash:driftcar_feature_ks:15m computes it from
// cumulative bucket counts: max_i |L_i/L_B − R_i/R_B| with L_i = Σ_{j≤i} live_j
// and R_i = Σ_{j≤i} ref_j. ref holds reference counts per bin (the
// increments of driftcar_feature_reference_value_bucket). It is NaN when
// either side is empty. This is detector.BinnedKS.
func BinnedKS(ref, live []float64) float64 {
	lc, rc := cumulative(live), cumulative(ref)
	ln, rn := lc[len(lc)-1], rc[len(rc)-1]
	if !(ln > 0) || !(rn > 0) {
		return math.NaN()
	}
	var d float64
	for i := range lc {
		d = max(d, math.Abs(lc[i]/ln-rc[i]/rn))
	}
	return d
}

func cumulative(xs []float64) []float64 {
	out := make([]float64, len(xs))
	var s float64
	for i, x := range xs {
		s += x
		out[i] = s
	}
	return out
}

// Round rounds v to a multiple of toNearest exactly as PromQL's
// round(v, toNearest) does, so a test can compare a rounded PromQL value
// with a rounded Go value for equality.
func Round(v, toNearest float64) float64 {
	inv := 1.0 / toNearest
	return math.Floor(v*inv+0.5) / inv
}
