// Package perf turns labelled predictions into performance statistics and
// champion/challenger verdicts: exact confusion, score-bin and error counts
// (Counts), their time-slice rings (Ring, PairRing), the metrics computed
// from them (accuracy, precision, recall, F1, log loss, binned ROC AUC with
// its error bound, MAE, RMSE, mean error), the tests that compare two arms
// (McNemar's exact test, two proportions, paired and Welch t tests) and the
// verdicts built on them. It is pure: no I/O, no goroutines, no logging or
// metrics.
//
// Concurrency: a Spec is immutable after WithDefaults and safe to share. A
// Counts, PairCounts, Ring or PairRing is owned by one goroutine; nothing in
// the package locks. Add never allocates once a Counts or Ring is built. The
// test functions and the verdicts are pure functions, safe for concurrent
// use.
package perf
