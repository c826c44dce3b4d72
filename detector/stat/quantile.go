package stat

import "math"

// BucketQuantile estimates the q-quantile of a histogram from its upper
// bounds and cumulative counts (the last count is taken as the total) by
// linear interpolation within a bucket, as PromQL's histogram_quantile
// does; NaN without counts.
func BucketQuantile(bounds []float64, cumulative []uint64, q float64) float64 {
	if len(cumulative) == 0 || cumulative[len(cumulative)-1] == 0 {
		return math.NaN()
	}
	rank := q * float64(cumulative[len(cumulative)-1])
	var lower float64
	var prev uint64
	for i, c := range cumulative {
		if i >= len(bounds) {
			break
		}
		if float64(c) >= rank {
			in := float64(c - prev)
			if in == 0 {
				return bounds[i]
			}
			return lower + (bounds[i]-lower)*(rank-float64(prev))/in
		}
		prev, lower = c, bounds[i]
	}
	return lower
}
