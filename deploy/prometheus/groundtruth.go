package prometheus

import "math"

// BinnedAUC is the ROC AUC of binary scores from their counts per score
// bin, as the recording rule model_route_arm:driftcar_prediction_auc:1h
// computes it from driftcar_prediction_score_bin_total and the histogram
// driftcar_prediction_score:
//
//	AUC = 1 − Σ_i neg_i·(C_i − pos_i/2) / (P·N),  C_i = Σ_{j≤i} pos_j,
//
// with P = Σ pos_i and N = Σ neg_i. A negative ranks above the positives of
// lower bins and ties with half of those of its own bin, so this is the
// Mann–Whitney AUC of the scores moved to their bin's upper edge. pos and
// neg hold the bins in edge order and must have the same length. It is NaN
// when either class is empty.
func BinnedAUC(pos, neg []float64) float64 {
	var p, n, below, cum float64
	for i := range pos {
		cum += pos[i]
		below += neg[i] * (cum - pos[i]/2)
		p += pos[i]
		n += neg[i]
	}
	if !(p > 0) || !(n > 0) {
		return math.NaN()
	}
	return 1 - below/(p*n)
}
