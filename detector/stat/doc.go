// Package stat turns exact window counts into drift decisions: the
// statistics (binned KS, G and χ² tests, PSI, Jensen–Shannon, L∞,
// Wasserstein, binomial rate tests), thresholds calibrated by simulation
// to a wall-clock false-alarm rate, the performance test of labelled
// outcomes (concept drift), the alarm state machine, dataset-level
// corrections and the canary-versus-live comparisons. It is pure: no I/O,
// no goroutines, no logging or metrics, and it does not depend on the
// sampler. The method and its measurements are in docs/drift-method.md.
//
// Concurrency: a Calibrator is safe for concurrent use and simulates each
// feature or performance class once. A Feature, a Performance and a
// Dataset are owned by one goroutine (the drift ticker): Evaluate reuses
// its buffers and its result is valid until the next call. The
// statistics, ParseRate, the corrections and the canary helpers are pure
// functions, safe for concurrent use.
package stat
