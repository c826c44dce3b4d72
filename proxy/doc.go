// Package proxy is driftcar's inference data path: a fasthttp server that
// matches a route, chooses an arm (weighted or sticky), calls the upstream
// over a keep-alive pool and maps failures to JSON errors.
//
// Concurrency: a Server serves requests on many goroutines. Its routing
// table is an immutable snapshot behind one atomic pointer; Apply builds a
// new table and swaps it, so requests in flight finish on the table they
// started with. Apply calls are serialized internally. All exported
// methods are safe for concurrent use.
//
// The request path never waits on anything but the upstream call: no
// locks, no channel sends that can block, and no allocations in steady
// state.
package proxy
