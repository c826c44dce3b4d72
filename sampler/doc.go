// Package sampler feeds live traffic into the sketches: a Tap per route
// copies sampled request and response bodies into pooled buffers and hands
// them to a bounded queue; a fixed pool of workers decodes them (through
// internal/payload) into the route's sketch.State, or into a Learner until
// a learned reference is ready; a Collector exports the sketches as
// Prometheus histograms and counters.
//
// Concurrency: Tap.Sample and Tap.SampleModelInfer (its gRPC twin) run on
// request goroutines, never block and do not allocate in steady state. A Set is built once per effective config
// and is immutable apart from its atomic learn-to-observe switch; Stop may
// be called once. The Collector is safe for concurrent use; a scrape and
// Use take its mutex, never the request path. Call Use with the new Set
// before Stop on the old one: the old Set's counts carry on under the new
// one's routes, and what Stop leaves queued counts as dropped.
package sampler
