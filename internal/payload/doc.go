// Package payload reads inference bodies: a request into rows of features
// (Decoder) and a response into one prediction per row (ResponseDecoder),
// for every registered protocol and for JSON paths in one dialect. The
// sampler, prediction drift and shadow comparison all read through it.
// A protocol is one file with a Codec and a Register call.
//
// Concurrency: a Decoder, ResponseDecoder or Record is owned by one
// goroutine, and what it returns is valid until its next call. Register
// is for init functions; the registry is safe for concurrent reads.
package payload
