package grpcproxy

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
)

// ErrNoGRPCAddress is the cause of a call to an arm whose upstream has no
// grpc_address.
var ErrNoGRPCAddress = errors.New("grpcproxy: upstream has no grpc_address")

// armMessage is the status message of a failure of the arm itself: it
// names route and arm.
func armMessage(route, arm, msg string) string {
	return fmt.Sprintf("driftcar: route %q arm %q: %s", route, arm, msg)
}

// statusFields are the trailers of a status of driftcar's own; a
// trailers-only response also carries the response headers.
func statusFields(code codes.Code, msg string, trailersOnly bool) []hpack.HeaderField {
	fs := make([]hpack.HeaderField, 0, 4)
	if trailersOnly {
		fs = append(fs, hpack.HeaderField{Name: ":status", Value: "200"}, hpack.HeaderField{Name: "content-type", Value: "application/grpc"})
	}
	return append(fs,
		hpack.HeaderField{Name: "grpc-status", Value: strconv.Itoa(int(code))},
		hpack.HeaderField{Name: "grpc-message", Value: encodeMessage(msg)})
}

// encodeMessage percent-encodes a grpc-message value as the gRPC HTTP/2
// spec asks: bytes outside printable ASCII, and '%'.
func encodeMessage(msg string) string {
	clean := true
	for i := 0; i < len(msg) && clean; i++ {
		clean = msg[i] >= ' ' && msg[i] <= '~' && msg[i] != '%'
	}
	if clean {
		return msg
	}
	var sb strings.Builder
	for i := 0; i < len(msg); i++ {
		if c := msg[i]; c >= ' ' && c <= '~' && c != '%' {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "%%%02X", c)
		}
	}
	return sb.String()
}

// decodeMessage undoes a grpc-message value's percent-encoding; a value
// that is not validly encoded is kept as sent.
func decodeMessage(v string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	if s, err := url.PathUnescape(v); err == nil {
		return s
	}
	return v
}

// grpcStatus reads the status code of an upstream's trailers, or maps
// its HTTP status when it sent none, as grpc-go's client does.
func grpcStatus(fields []hpack.HeaderField) codes.Code {
	httpStatus := ""
	for _, f := range fields {
		switch f.Name {
		case "grpc-status":
			n, err := strconv.ParseUint(f.Value, 10, 32)
			if err != nil {
				return codes.Unknown
			}
			return codes.Code(n)
		case ":status":
			httpStatus = f.Value
		}
	}
	switch httpStatus {
	case "400":
		return codes.Internal
	case "401":
		return codes.Unauthenticated
	case "403":
		return codes.PermissionDenied
	case "404":
		return codes.Unimplemented
	case "429", "502", "503", "504":
		return codes.Unavailable
	}
	return codes.Unknown
}

// rstStatus maps an upstream's RST_STREAM code to the status grpc-go's
// client would report for it.
func rstStatus(code http2.ErrCode) codes.Code {
	switch code {
	case http2.ErrCodeRefusedStream:
		return codes.Unavailable
	case http2.ErrCodeCancel:
		return codes.Canceled
	case http2.ErrCodeEnhanceYourCalm, http2.ErrCodeFlowControl:
		return codes.ResourceExhausted
	case http2.ErrCodeInadequateSecurity:
		return codes.PermissionDenied
	}
	return codes.Internal
}

// timeoutUnits are grpc-timeout's units, finest first.
var timeoutUnits = [...]struct {
	name byte
	unit time.Duration
}{{'n', time.Nanosecond}, {'u', time.Microsecond}, {'m', time.Millisecond}, {'S', time.Second}, {'M', time.Minute}, {'H', time.Hour}}

// parseTimeout reads a grpc-timeout value: at most 8 digits and a unit.
func parseTimeout(v string) (time.Duration, bool) {
	if len(v) < 2 || len(v) > 9 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	for _, u := range timeoutUnits {
		if u.name == v[len(v)-1] {
			return time.Duration(n) * u.unit, true
		}
	}
	return 0, false
}

// encodeTimeout writes d as a grpc-timeout value: at most 8 digits, in
// the finest unit that holds it.
func encodeTimeout(d time.Duration) string {
	d = max(d, time.Nanosecond)
	for _, u := range timeoutUnits {
		if n := (d + u.unit - 1) / u.unit; n < 1e8 || u.name == 'H' {
			return strconv.FormatInt(int64(min(n, 1e8-1)), 10) + string(u.name)
		}
	}
	panic("unreachable")
}
