// Package admin serves driftcar's admin endpoints: /metrics, /healthz,
// /readyz, /api/config and, when enabled, /debug/pprof.
//
// Concurrency: handlers run on net/http's goroutines and only call the
// functions passed in Options, which must be safe for concurrent use. The
// admin server is off the inference path; nothing here can slow it down.
package admin
