// Package sketch holds the fixed-memory distribution state of drift
// detection: the reference Profile (quantile bin edges and exact cell
// proportions per numeric feature, a category dictionary per categorical
// one), BuildReference and Learner that make it from training data or the
// first live rows (with the model's PerformanceProfile when the training
// file has a label column), and the live State: exact counts per
// reference cell in a ring of time slices, plus moments, distinct-value
// sketches and a top-k of unseen categories. Memory per feature is fixed by the options, not by
// traffic (State.Size; figures in docs/performance.md). It is pure: no
// I/O beyond the reader and files it is given, no goroutines.
//
// Concurrency: State is safe for concurrent use; Observe is lock-free
// except when a slice starts and for the per-feature distinct-value and
// top-k updates of categorical features. Window, Snapshot and UnseenTop may
// run concurrently with Observe. Learner is safe for concurrent use. A
// Profile is immutable once validated. BuildReference runs on the caller's
// goroutine.
package sketch
