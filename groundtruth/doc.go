// Package groundtruth joins ground-truth labels to the predictions they
// are for: a bounded join table fed by the capture and shadow workers,
// and the label intake (POST /api/v1/feedback and a Kafka consumer)
// that claims its entries and counts every label.
//
// Concurrency: all exported methods are safe for concurrent use. The
// table holds one mutex per call, for about 0.2 µs per row stored or
// labelled; PutLive, PutShadow and Label allocate nothing. Feedback.Apply runs OnJoin on
// the caller's goroutine with no lock held. The Kafka consumer owns one
// goroutine, started by StartKafka and stopped by Close.
//
// Memory: NewTable allocates MaxEntries slots of 56 bytes and an index of
// 4-byte cells, a power of two at most half full; nothing grows later
// (BytesPerEntry bounds the total per entry). The slots are a ring in
// insertion order: when full, the oldest entry is overwritten, and
// counted as evicted if it was younger than the TTL. An expired entry
// stays until overwritten, so its label is told Expired rather than
// Unmatched. Only the first MaxRowsPerRequest rows of a request are
// stored; the rest are counted.
//
// Keys: an entry is found by a 64-bit hash of (request id, row) —
// xxhash of the id XOR a random word per row — and the id itself is not
// kept. Two distinct keys collide with probability 2^-64, so among the
// n(n-1)/2 pairs of a full table of n = 1,000,000 entries the chance of
// any collision is about 2.7e-8, and a label for an absent key finds a
// wrong entry with probability n/2^64 ≈ 5.4e-14.
package groundtruth
