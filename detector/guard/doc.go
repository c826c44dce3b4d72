// Package guard is the canary guard: on each tick it compares every
// canary arm of a route with the route's first (live) arm over a window
// (5xx rate, p99 latency and, when sampled, the prediction distribution)
// and, after a confirmed breach, sets the canary's weight to 0. It reads
// request counts and steers weights through the Arms interface (the
// proxy implements it); the statistics are detector/stat's.
//
// Concurrency: Tick runs on one goroutine at a time (the drift monitor's);
// View and Collect may run concurrently with it. RollbackCounts outlive a
// Guard, which a config change replaces. Nothing here is called from the
// request path.
package guard
