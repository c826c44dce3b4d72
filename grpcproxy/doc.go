// Package grpcproxy is driftcar's gRPC data path: an HTTP/2 relay, frame
// by frame (x/net/http2's Framer and hpack), that forwards every call to
// the gRPC address of a route's arm with no generated types and no
// grpc-go server or client in between. Routes are the config's routes[],
// matched by path prefix on the method path
// ("/inference.GRPCInferenceService/ModelInfer"); arms are chosen by weight
// or sticky by a metadata key, exactly as the HTTP proxy does. Metadata,
// deadlines, trailers, status codes and messages pass through unchanged;
// failures of an arm itself become statuses that name route and arm. The
// listener also serves grpc.health.v1 (a grpc-go server in memory, fed by
// a readiness function). Client makes unary calls of driftcar's own (the
// shadow's) on the same connection code.
//
// Concurrency: each client connection and each upstream connection has
// one reader goroutine; a call's state is shared by the two readers under
// the call's mutex (then a connection's write lock, then its stream map).
// Writes are buffered and flushed once a reader has no whole frame left,
// so a burst leaves in one write. A Client call's callback runs after
// such a flush, on its connection's reader, its timer, or the caller.
// The routing table is an immutable snapshot behind one atomic pointer;
// Apply builds a new table and swaps it, so calls in flight finish on the
// table they started with. All exported methods are safe for concurrent
// use.
//
// The relay never waits on anything but the client and the upstream:
// bytes wait only for a peer's flow-control window, and at most the
// windows driftcar grants (1MiB a stream, 8MiB a connection). Taps run
// when the upstream's status arrives, before it reaches the client, and
// must not block.
package grpcproxy
