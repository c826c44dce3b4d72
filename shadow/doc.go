// Package shadow mirrors sampled requests to a shadow model and compares
// the shadow's predictions with the live ones.
//
// The request path touches this package twice, never blocking: Offer
// decides by a hash of the request id whether to mirror, copies the request
// into a pooled, capped buffer and hands it to a bounded queue (dropping
// and counting when full); the returned Pending takes a capped copy of the
// live response. A fixed pool of workers per route sends the copies to the
// shadow upstream with its own timeout and connection limit, waits a
// bounded time for the live half of the pair, compares predictions, and
// records metrics and mismatch samples.
//
// Over gRPC (Mirror.GRPCTap, for the gRPC listener's open-inference-v2
// routes) the relay's tap hands over a finished ModelInfer call: the
// request and the live response are already there, so the tap keeps the
// relay's frames (no copy), queues them and returns. One sender goroutine
// starts the queued calls on a grpcproxy.Client to the shadow's
// grpc_address, at most spec.Workers in flight, in bursts (it gathers
// for up to 20 ms, less once an eighth of the slots are free), and the
// client's callback compares the two ModelInferResponses output by output
// on the client's connection reader. Fraction, byte budget, metrics, samples and
// Answers are shared with the HTTP side.
//
// Concurrency: Mirror.Offer, Pending.Live and the gRPC tap's Call are
// safe for concurrent use and allocation-free in steady state. A Pending
// must receive exactly one Live call. Mirror.Stop may be called once;
// after it, Offer keeps working but nothing new is sent. Ring is safe for
// concurrent use.
package shadow
