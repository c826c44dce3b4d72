package perf_test

import (
	"fmt"
	"math"

	"github.com/driftcar/driftcar/groundtruth/perf"
)

// Example follows labelled predictions of a binary model per time slice
// and judges a shadow that answered the same requests.
func Example() {
	spec, err := perf.Spec{Kind: perf.Binary, Threshold: 0.5, ScoreBins: 10}.WithDefaults()
	if err != nil {
		panic(err)
	}
	ring := perf.NewRing(&spec, 6) // e.g. six 10-minute slices
	pairs := perf.NewPairRing(6)
	for i := range 1000 {
		actual, _ := spec.ParseLabel([]byte(fmt.Sprint(i % 2)))
		liveScore := 0.3 + 0.4*actual + 0.25*math.Sin(float64(i))  // right about 80% of the time
		shadowScore := 0.2 + 0.6*actual + 0.1*math.Sin(float64(i)) // always right
		live := spec.Outcome(actual, math.NaN(), liveScore)
		ring.Add(live)
		pairs.Add(&spec, live, spec.Outcome(actual, math.NaN(), shadowScore))
		if i%200 == 199 {
			ring.Rotate()
			pairs.Rotate()
		}
	}
	window := perf.NewCounts(&spec)
	ring.Window(6, window)
	m := window.Metrics()
	fmt.Printf("n=%d accuracy=%.3f AUC=%.3f±%.3f\n", m.N, m.Accuracy, m.AUC, m.AUCBound)

	var p perf.PairCounts
	pairs.Window(6, &p)
	v := perf.PairedVerdict(&spec, &p, perf.VerdictOptions{Margin: 0.02})
	fmt.Printf("%s: %s %.3f -> %.3f, lower bound %.3f, p=%.2g\n", v.Verdict, v.Metric, v.Champion, v.Challenger, v.Lower, v.PValue)
	// Output:
	// n=1000 accuracy=0.792 AUC=0.924±0.033
	// better_by_margin: accuracy 0.792 -> 1.000, lower bound 0.187, p=4.9e-63
}
