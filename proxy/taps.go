package proxy

import (
	"time"

	"github.com/valyala/fasthttp"
)

// Mirror takes copies of requests for a shadow model. Offer runs on the
// request path, after the request is prepared for the upstream and before
// the upstream call; it must not block and must not keep req. It returns
// nil when it does not mirror the request. Implementations must be safe
// for concurrent use.
type Mirror interface {
	Offer(req *fasthttp.Request, requestID []byte) LiveSink
}

// LiveSink receives the response the client got for a mirrored request,
// exactly once. Live must not block and must not keep resp.
type LiveSink interface {
	Live(resp *fasthttp.Response)
}

// RouteTaps are the hand-offs a route makes on the request path.
type RouteTaps struct {
	Mirror  Mirror
	Sampler Sampler
	// Tokens receives every complete answer, unsampled, for token
	// accounting.
	Tokens Sampler
	// TimeTokens times the route's streamed answers per arm: the time to
	// the first chunk and the gaps between chunks.
	TimeTokens bool
	// Recorder receives every answered request, failed ones included,
	// for the prediction log.
	Recorder Recorder
}

// Recorder takes copies of answered requests. Record runs on the request
// path once the client's response is complete (a stream's when it ended,
// with the taps' bounded copy as body); it must not block and must not
// keep req, resp or the slices of ex. Implementations must be safe for
// concurrent use.
type Recorder interface {
	Record(req *fasthttp.Request, resp *fasthttp.Response, ex Exchange)
}

// Recorders hands each answered request to several Recorders in turn.
type Recorders []Recorder

// Record calls every recorder.
func (rs Recorders) Record(req *fasthttp.Request, resp *fasthttp.Response, ex Exchange) {
	for _, r := range rs {
		r.Record(req, resp, ex)
	}
}

// Exchange describes one answered request.
type Exchange struct {
	Arm       string
	RequestID []byte
	Start     time.Time
	Duration  time.Duration
	// Failure is the reason label of a failed upstream call (the client
	// got driftcar's error answer, or a cut stream), "" otherwise.
	Failure string
	// Mirrored reports that a copy went to the shadow.
	Mirrored bool
}

// Taps maps route names to their taps. Routes without an entry have none.
type Taps map[string]RouteTaps

// Sampler takes copies of requests and their responses for feature
// sampling. Sample runs on the request path after the response is ready,
// with the name of the arm that served it; it must not block and must not
// keep req or resp. Implementations must be safe for concurrent use.
type Sampler interface {
	Sample(req *fasthttp.Request, resp *fasthttp.Response, arm string)
}
