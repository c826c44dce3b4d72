package proxy

import (
	"errors"
	"io"
	"net"
	"strconv"
	"syscall"

	"github.com/valyala/fasthttp"
)

// ErrNoUpstream is returned when a route's arm names an upstream that is
// not (yet) known, for example a cluster an xDS route names before it
// arrives.
var ErrNoUpstream = errors.New("proxy: upstream not available")

// failure is the reason an upstream call failed. Its string is the reason
// label of driftcar_upstream_errors_total.
type failure uint8

const (
	failRefused failure = iota
	failReset
	failTimeout
	failConnectTimeout
	failConnLimit
	failBadResponse
	failNoUpstream
	// The two below end a stream whose headers are already sent.
	failClientGone
	failBrokenStream
	numFailures
	// noFailure marks a call that did not fail.
	noFailure = numFailures
)

var failureNames = [numFailures]string{
	failRefused:        "refused",
	failReset:          "reset",
	failTimeout:        "timeout",
	failConnectTimeout: "connect_timeout",
	failConnLimit:      "conn_limit",
	failBadResponse:    "bad_response",
	failNoUpstream:     "no_upstream",
	failClientGone:     "client_gone",
	failBrokenStream:   "upstream_broken_stream",
}

var failureStatus = [numFailures]int{
	failRefused:        fasthttp.StatusBadGateway,
	failReset:          fasthttp.StatusBadGateway,
	failTimeout:        fasthttp.StatusGatewayTimeout,
	failConnectTimeout: fasthttp.StatusGatewayTimeout,
	failConnLimit:      fasthttp.StatusServiceUnavailable,
	failBadResponse:    fasthttp.StatusBadGateway,
	failNoUpstream:     fasthttp.StatusServiceUnavailable,
	failClientGone:     fasthttp.StatusOK,
	failBrokenStream:   fasthttp.StatusOK,
}

var failureMessages = [numFailures]string{
	failRefused:        "upstream refused the connection",
	failReset:          "upstream closed or reset the connection",
	failTimeout:        "upstream timed out",
	failConnectTimeout: "upstream connect timed out",
	failConnLimit:      "upstream connection limit reached",
	failBadResponse:    "upstream sent an invalid response",
	failNoUpstream:     "upstream not available",
	failClientGone:     "the client went away mid-stream",
	failBrokenStream:   "upstream broke the stream",
}

func (f failure) String() string { return failureNames[f] }

// label is f's reason label, or "" for noFailure.
func (f failure) label() string {
	if f == noFailure {
		return ""
	}
	return failureNames[f]
}

// classify maps an upstream call error to a failure.
func classify(err error) failure {
	var opErr *net.OpError
	switch {
	case errors.Is(err, ErrNoUpstream):
		return failNoUpstream
	case errors.Is(err, fasthttp.ErrDialTimeout):
		return failConnectTimeout
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrTLSHandshakeTimeout):
		return failTimeout
	case errors.Is(err, fasthttp.ErrNoFreeConns), errors.Is(err, fasthttp.ErrConnPoolStrategyNotImpl):
		return failConnLimit
	case errors.Is(err, syscall.ECONNREFUSED):
		return failRefused
	case errors.As(err, &opErr) && opErr.Op == "dial":
		if opErr.Timeout() {
			return failConnectTimeout
		}
		return failRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, fasthttp.ErrConnectionClosed):
		return failReset
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return failTimeout
	}
	return failBadResponse
}

// neverSent reports whether a failure happened before any byte of the
// request reached the upstream, so retrying it elsewhere is safe for any
// method.
func (f failure) neverSent() bool {
	switch f {
	case failRefused, failConnectTimeout, failConnLimit, failNoUpstream:
		return true
	}
	return false
}

// writeError writes a JSON error that names the route and arm.
func writeError(ctx *fasthttp.RequestCtx, status int, msg, route, arm string) {
	ctx.Response.Reset()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	b := make([]byte, 0, 128)
	b = append(b, `{"error":`...)
	b = strconv.AppendQuote(b, msg)
	if route != "" {
		b = append(b, `,"route":`...)
		b = strconv.AppendQuote(b, route)
	}
	if arm != "" {
		b = append(b, `,"arm":`...)
		b = strconv.AppendQuote(b, arm)
	}
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, "}\n"...)
	ctx.Response.SetBody(b)
}
