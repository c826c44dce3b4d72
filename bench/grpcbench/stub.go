package grpcbench

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
)

// Method is the benchmarked call.
const Method = "/inference.GRPCInferenceService/ModelInfer"

// frame is one serialized message; codec passes it through unchanged.
type frame struct{ b []byte }

type codec struct{}

func (codec) Marshal(v any) ([]byte, error) {
	if f, ok := v.(*frame); ok {
		return f.b, nil
	}
	return nil, fmt.Errorf("grpcbench: cannot marshal %T", v)
}

func (codec) Unmarshal(data []byte, v any) error {
	if f, ok := v.(*frame); ok {
		f.b = append(f.b[:0], data...)
		return nil
	}
	return fmt.Errorf("grpcbench: cannot unmarshal into %T", v)
}

func (codec) Name() string { return "proto" }

// Stub is a grpc-go ModelInfer server answering one fixed response.
type Stub struct {
	srv  *grpc.Server
	addr string
}

// StartStub serves ModelInfer on addr, answering each call after delay.
func StartStub(addr string, delay time.Duration) (*Stub, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen for the stub: %w", err)
	}
	resp := &frame{b: modelInferResponse()}
	s := &Stub{srv: grpc.NewServer(grpc.ForceServerCodec(codec{})), addr: ln.Addr().String()}
	s.srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "inference.GRPCInferenceService",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "ModelInfer", Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var req frame
			if err := dec(&req); err != nil {
				return nil, err
			}
			if delay > 0 {
				time.Sleep(delay)
			}
			return resp, nil
		}}},
	}, s)
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the stub's address.
func (s *Stub) Addr() string { return s.addr }

// Close stops the stub.
func (s *Stub) Close() { s.srv.Stop() }

// modelInferRequest is a Triton-shaped request: one FP32 input of shape
// [1, 16] in raw_input_contents.
func modelInferRequest() []byte {
	return message(5, 7, "input", 16)
}

// modelInferResponse is one FP32 output of shape [1, 2].
func modelInferResponse() []byte {
	return message(5, 6, "output", 2)
}

func message(tensorField, rawField protowire.Number, name string, n int) []byte {
	var t []byte
	t = protowire.AppendTag(t, 1, protowire.BytesType)
	t = protowire.AppendString(t, name)
	t = protowire.AppendTag(t, 2, protowire.BytesType)
	t = protowire.AppendString(t, "FP32")
	t = protowire.AppendTag(t, 3, protowire.BytesType)
	t = protowire.AppendBytes(t, protowire.AppendVarint(protowire.AppendVarint(nil, 1), uint64(n)))
	var raw []byte
	for i := range n {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(i)/float32(n)))
	}
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, "model")
	b = protowire.AppendTag(b, tensorField, protowire.BytesType)
	b = protowire.AppendBytes(b, t)
	b = protowire.AppendTag(b, rawField, protowire.BytesType)
	return protowire.AppendBytes(b, raw)
}
