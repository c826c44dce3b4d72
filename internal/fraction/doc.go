// Package fraction picks a share of requests by a hash of their id, so
// the same id gets the same answer on every pod and in every job: with
// equal or nested shares, the shadow and the prediction log choose the
// same requests.
//
// Concurrency: a Fraction is an immutable value, safe to share.
package fraction
