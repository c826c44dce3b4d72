package grpcproxy

import (
	"encoding/base64"
	"strings"

	"golang.org/x/net/http2/hpack"
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
	Metadata Metadata
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

// Metadata is a call's request metadata, read from the client's header
// fields on demand, so that calls a tap ignores cost no copy.
type Metadata struct{ fields []hpack.HeaderField }

// MetadataOf builds the Metadata of md, for tests and for taps fed by
// other sources.
func MetadataOf(md metadata.MD) Metadata { return Metadata{appendMetadata(nil, md)} }

// appendMetadata appends md as header fields, as grpc-go sends them:
// keys lowercased, binary (-bin) values base64-encoded, and the fields
// gRPC itself sets (pseudo-headers, content-type, te, grpc-timeout)
// left out.
func appendMetadata(fs []hpack.HeaderField, md metadata.MD) []hpack.HeaderField {
	for k, vs := range md {
		k = strings.ToLower(k)
		if strings.HasPrefix(k, ":") || k == "content-type" || k == "te" || k == "grpc-timeout" {
			continue
		}
		for _, v := range vs {
			if strings.HasSuffix(k, "-bin") {
				v = base64.RawStdEncoding.EncodeToString([]byte(v))
			}
			fs = append(fs, hpack.HeaderField{Name: k, Value: v})
		}
	}
	return fs
}

// Get returns key's first value, "" when it has none.
func (m Metadata) Get(key string) string {
	for _, f := range m.fields {
		if f.Name == key {
			return fieldValue(f)
		}
	}
	return ""
}

// Range calls f for each key and value in order, pseudo-headers left out
// and binary (-bin) values decoded.
func (m Metadata) Range(f func(key, value string)) {
	for _, hf := range m.fields {
		if !strings.HasPrefix(hf.Name, ":") {
			f(hf.Name, fieldValue(hf))
		}
	}
}

func fieldValue(f hpack.HeaderField) string {
	if !strings.HasSuffix(f.Name, "-bin") {
		return f.Value
	}
	if b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(f.Value, "=")); err == nil {
		return string(b)
	}
	return f.Value
}
