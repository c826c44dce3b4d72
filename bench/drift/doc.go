// Package drift is `driftcar-bench drift`: the detection benchmark of
// detector/stat on a simulated clock. Stationary features give the
// false-alarm rate, standard shifts the detection delay, each next to an
// exact, unbounded-memory KS test on the same windows. The performance
// scenario drops a model's accuracy (0.90 → 0.85 at 20 labels/s) and times
// stat.Performance next to an exact binomial test of a sliding window on
// the same labels. Rows go through the calibration's slice ring
// (stat.SliceRing), which detector/stat's tests prove equal to
// sampler/sketch.State.
//
// Concurrency: Simulate, SimulatePerformance and RunCLI run on the
// caller's goroutine; a Result or PerfResult is plain data.
package drift
