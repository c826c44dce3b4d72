// Package grpcproxy is driftcar's gRPC data path: a grpc-go server that
// relays every method it does not serve itself to the gRPC address of a
// route's arm, frame by frame, with no generated types. Routes are the
// config's routes[], matched by path prefix on the method path
// ("/inference.GRPCInferenceService/ModelInfer"); arms are chosen by weight
// or sticky by a metadata key, exactly as the HTTP proxy does. Metadata,
// deadlines, trailers, status codes and messages pass through unchanged;
// failures of an arm itself become statuses that name route and arm. The
// listener also serves grpc.health.v1, fed by a readiness function.
//
// Concurrency: a Server serves calls on many goroutines (two per call: the
// call's own and one relaying the client's messages upstream). Its routing
// table is an immutable snapshot behind one atomic pointer; Apply builds a
// new table and swaps it, so calls in flight finish on the table they
// started with. Apply calls are serialized internally. All exported methods
// are safe for concurrent use.
//
// The relay never waits on anything but the client and the upstream: no
// locks and no channel sends that can block. Taps run after the upstream's
// last message was relayed and must not block.
package grpcproxy
