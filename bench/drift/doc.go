// Package drift is `driftcar-bench drift`: the detection benchmark of
// detector/stat on a simulated clock. Stationary features give the
// false-alarm rate, standard shifts the detection delay, each next to an
// exact, unbounded-memory KS test on the same windows. Rows go through the
// calibration's slice ring (stat.SliceRing), which detector/stat's tests
// prove equal to sampler/sketch.State.
//
// Concurrency: Simulate and RunCLI run on the caller's goroutine; a Result
// is plain data.
package drift
