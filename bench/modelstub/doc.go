// Package modelstub is a minimal fasthttp model server for load tests. It
// answers every request with a fixed KServe v1 or Open Inference v2
// prediction, optionally after a delay, and fails a configured fraction of
// requests with 500.
//
// Concurrency: a Server is safe for concurrent use; Close may be called
// once, from any goroutine.
package modelstub
