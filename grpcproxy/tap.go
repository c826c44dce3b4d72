package grpcproxy

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// Tap takes a finished call for sampling, mirroring or logging. Call runs
// on the call's goroutine after the upstream's last message was relayed
// and before the status reaches the client, so it must not block (copy to
// a bounded queue and count drops). It may keep c's byte slices, which the
// relay never reuses, but must not modify them or the metadata.
// Implementations must be safe for concurrent use.
type Tap interface {
	Call(c *Call)
}

// Call is what a Tap sees of one relayed call. It is valid only during
// Tap.Call; the byte slices and metadata outlive it.
type Call struct {
	// Route and Arm name the route and the arm that served the call.
	Route, Arm string
	// Method is the full method, e.g. "/inference.GRPCInferenceService/ModelInfer".
	Method string
	// Metadata is the client's request metadata.
	Metadata metadata.MD
	// Request and Response are the first message each way, nil when there
	// was none; for a unary call they are the whole exchange.
	Request, Response []byte
	// Requests and Responses count the messages relayed each way.
	Requests, Responses int
	// Code is the status the client gets.
	Code codes.Code
}

// Taps maps route names to their tap. Routes without an entry have none.
type Taps map[string]Tap

// TapFunc adapts a function to Tap.
type TapFunc func(c *Call)

// Call calls f(c).
func (f TapFunc) Call(c *Call) { f(c) }

var _ Tap = TapFunc(nil)
