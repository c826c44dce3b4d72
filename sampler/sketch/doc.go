// Package sketch turns sampled inference requests and responses into
// fixed-memory distribution state for drift detection, and builds the
// reference profiles that state is compared with.
//
// It is a pure library: it imports no HTTP, logging or metrics packages.
// The wiring code feeds it bodies from a bounded queue, reads its counters
// and exports them.
//
// # Pieces
//
//   - Decoder turns a request body (KServe v1 "instances" rows or columnar
//     "inputs", Open Inference v2 tensors, or any JSON through paths) and
//     the matching response body into a Batch of feature rows and
//     predictions. It uses its own allocation-free JSON scanner; invalid
//     input is counted by Reason in InvalidCounters.
//   - Profile is the reference distribution: quantile bin edges and exact
//     cell proportions per numeric feature, a category dictionary per
//     categorical feature. BuildReference streams CSV or JSONL in bounded
//     memory; Learner builds the same profile from the first live rows;
//     LoadProfile validates a reference file.
//   - State holds the live counts per reference cell in a ring of time
//     slices, plus moments, distinct-value sketches and a top-k of unseen
//     categories. Window sums recent slices for the detector; Snapshot
//     gives cumulative counts for Prometheus.
//
// # Concurrency and ownership
//
//   - A Decoder is owned by one goroutine. Decode must not be called
//     concurrently on one Decoder, and the Batch it returns (including the
//     Str bytes of its values) is valid only until the next Decode. Run one
//     Decoder per sampler goroutine.
//   - State is safe for concurrent use. Observe from many goroutines is
//     lock-free (atomic adds) except when a new time slice starts and for
//     the distinct-value sketch and top-k of categorical features, which
//     sit behind a per-feature mutex. Window, Snapshot and UnseenTop may
//     run concurrently with Observe.
//   - InvalidCounters and Learner are safe for concurrent use.
//   - A Profile is immutable once validated and shared: do not modify a
//     Profile that a State uses.
//   - BuildReference runs on the caller's goroutine and starts none. The
//     package starts no goroutines.
//
// # Memory
//
// At the defaults (60 slices of 1 minute, B = 20 bins, a dictionary of at
// most 64 categories, HLL precision 10 over groups of 10 slices, a
// 32-entry top-k) a numeric feature takes about 13 KiB and a categorical
// feature about 55 KiB, independent of traffic; State.Size reports the
// exact figure per feature.
package sketch
