// Package benchproc starts and stops the processes the benchmarks run
// against (driftcar, nginx, model stubs) and finds the binaries they need.
//
// Concurrency: a Child is safe for concurrent use; the functions hold no
// state.
package benchproc
