package grpcproxy

import (
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrNoGRPCAddress is the cause of a call to an arm whose upstream has no
// grpc_address.
var ErrNoGRPCAddress = errors.New("grpcproxy: upstream has no grpc_address")

// armStatus returns the status of a failure of the arm itself: its code,
// and a message that names route and arm.
func armStatus(route, arm string, err error) error {
	st := status.Convert(err)
	code := st.Code()
	if errors.Is(err, ErrNoGRPCAddress) {
		code = codes.Unavailable
	}
	return status.Errorf(code, "driftcar: route %q arm %q: %s", route, arm, st.Message())
}

// localPrefixes begin the messages grpc-go's client writes for failures of
// its own: the connection (internal/transport) and the receive limit
// (rpc_util.go). A status with another message came from the upstream
// and passes through unchanged. grpc-go exposes no type for this, so the
// messages are the only way to tell; the tests provoke each kind.
var localPrefixes = [...]string{
	"connection error",
	"error reading from server",
	"closing transport due to",
	"stream terminated by RST_STREAM",
	"server closed the stream without sending trailers",
	"grpc: received message larger than max",
	"transport: ",
}

// local reports whether err is a failure of the client side of the call,
// not a status the upstream sent.
func local(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return true
	}
	msg := st.Message()
	for _, p := range localPrefixes {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// neverSent reports whether a failure to open the upstream stream left
// the call unsent, so that the fallback arm may take it.
func neverSent(err error) bool {
	return errors.Is(err, ErrNoGRPCAddress) || status.Code(err) == codes.Unavailable
}
