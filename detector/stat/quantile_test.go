package stat

import (
	"math"
	"testing"
)

func TestBucketQuantile(t *testing.T) {
	bounds := []float64{1, 2, 4}
	cases := []struct {
		name       string
		cumulative []uint64
		q, want    float64
	}{
		{"interpolates within a bucket", []uint64{0, 10, 10}, 0.5, 1.5},
		{"first bucket starts at 0", []uint64{10, 10, 10}, 0.5, 0.5},
		{"upper edge", []uint64{0, 0, 8}, 1, 4},
		{"no counts", []uint64{0, 0, 0}, 0.5, math.NaN()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := BucketQuantile(bounds, tc.cumulative, tc.q)
			if got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}
