package groundtruth

import (
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/driftcar/driftcar/grpcproxy"
	"github.com/driftcar/driftcar/internal/payload"
)

// grpcCapture is a route's tap on the gRPC listener: the answers of unary
// ModelInfer calls, keyed as the shadow keys them (the request's id
// field, else its x-request-id metadata; calls with neither cannot be
// labelled and are skipped).
type grpcCapture struct{ r *routeCapture }

var _ grpcproxy.Tap = grpcCapture{}

// GRPCTap returns the gRPC tap of a route, or nil for a route the capture
// does not join.
func (c *Capture) GRPCTap(name string) grpcproxy.Tap {
	if r := c.routes[name]; r != nil {
		return grpcCapture{r}
	}
	return nil
}

// Call copies an OK ModelInfer answer and queues it. It never blocks.
func (g grpcCapture) Call(call *grpcproxy.Call) {
	if call.Code != codes.OK || call.Requests != 1 || call.Responses != 1 || !strings.HasSuffix(call.Method, "/ModelInfer") {
		return
	}
	if id, ok := payload.ModelInferID(call.Request); ok {
		g.r.queue(id, "", call.Arm, call.Response, true, 0)
	} else if v := call.Metadata["x-request-id"]; len(v) > 0 && v[0] != "" {
		g.r.queue(nil, v[0], call.Arm, call.Response, true, 0)
	}
}
