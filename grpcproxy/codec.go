package grpcproxy

import (
	"bytes"
	"fmt"

	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/proto"
)

// Frame is one gRPC message as it travels: its serialized bytes. The relay
// allocates a Frame per message and never reuses it.
type Frame struct{ b []byte }

// Bytes returns the message bytes. They must not be modified.
func (f *Frame) Bytes() []byte { return f.b }

// codec passes Frames through unchanged and marshals real proto messages
// (the health service's) as protobuf. It is forced per server and per
// connection, never registered globally, so it changes nothing else in
// the process. Its name keeps the wire content-type application/grpc+proto.
type codec struct{}

var _ encoding.Codec = codec{}

func (codec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case *Frame:
		return m.b, nil
	case proto.Message:
		return proto.Marshal(m)
	}
	return nil, fmt.Errorf("grpcproxy: cannot marshal %T", v)
}

// Unmarshal copies data: grpc-go reuses its buffer once Unmarshal returns.
func (codec) Unmarshal(data []byte, v any) error {
	switch m := v.(type) {
	case *Frame:
		m.b = bytes.Clone(data)
		return nil
	case proto.Message:
		return proto.Unmarshal(data, m)
	}
	return fmt.Errorf("grpcproxy: cannot unmarshal into %T", v)
}

func (codec) Name() string { return "proto" }
