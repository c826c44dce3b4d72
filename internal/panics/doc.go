// Package panics keeps a worker that parses untrusted input alive after a
// panic: the panic is counted per component, logged with its stack, and
// the worker goes on with its next item.
//
// Concurrency: a Counter is safe for concurrent use by any number of
// workers.
package panics
