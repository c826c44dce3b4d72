package testupstream

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"
)

// InferenceService is the Open Inference Protocol's gRPC service name.
const InferenceService = "inference.GRPCInferenceService"

// MethodModelInfer is the full method of ModelInfer.
const MethodModelInfer = "/" + InferenceService + "/ModelInfer"

// GRPCHandler answers one ModelInfer call: req is the serialized
// ModelInferRequest; it returns the serialized ModelInferResponse, or an
// error made with status.Error.
type GRPCHandler func(ctx context.Context, md metadata.MD, req []byte) ([]byte, error)

// StartGRPC serves a real grpc-go inference server on a fresh 127.0.0.1
// port until the test ends and returns the address. ModelInfer calls h;
// ServerLive, ServerReady and ModelReady answer true. Messages travel as
// bytes, with no generated types.
func StartGRPC(tb testing.TB, h GRPCHandler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.MaxRecvMsgSize(64<<20))
	ready := func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		var b []byte
		if err := dec(&b); err != nil {
			return nil, err
		}
		out := []byte{0x08, 0x01} // field 1 (live / ready) = true
		return &out, nil
	}
	infer := func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		var req []byte
		if err := dec(&req); err != nil {
			return nil, err
		}
		md, _ := metadata.FromIncomingContext(ctx)
		resp, err := h(ctx, md, req)
		if err != nil {
			return nil, err
		}
		return &resp, nil
	}
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: InferenceService,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			{MethodName: "ModelInfer", Handler: infer},
			{MethodName: "ServerLive", Handler: ready},
			{MethodName: "ServerReady", Handler: ready},
			{MethodName: "ModelReady", Handler: ready},
		},
	}, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	tb.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return ln.Addr().String()
}

// GRPCAnswer answers every call with InferResponse(model, the request's
// id, ys...).
func GRPCAnswer(model string, ys ...float32) GRPCHandler {
	return func(_ context.Context, _ metadata.MD, req []byte) ([]byte, error) {
		return InferResponse(model, InferID(req), ys...), nil
	}
}

// InferRequest is a Triton-shaped ModelInferRequest: model, id and one
// FP32 input "x" of shape [len(rows), width] in raw_input_contents.
func InferRequest(model, id string, rows ...[]float32) []byte {
	width := 0
	if len(rows) > 0 {
		width = len(rows[0])
	}
	var in []byte
	in = protowire.AppendTag(in, 1, protowire.BytesType)
	in = protowire.AppendString(in, "x")
	in = protowire.AppendTag(in, 2, protowire.BytesType)
	in = protowire.AppendString(in, "FP32")
	var shape []byte
	shape = protowire.AppendVarint(shape, uint64(len(rows)))
	shape = protowire.AppendVarint(shape, uint64(width))
	in = protowire.AppendTag(in, 3, protowire.BytesType)
	in = protowire.AppendBytes(in, shape)
	raw := make([]byte, 0, len(rows)*width*4)
	for _, r := range rows {
		for _, v := range r {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
	}
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, model)
	if id != "" {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, id)
	}
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	b = protowire.AppendBytes(b, in)
	b = protowire.AppendTag(b, 7, protowire.BytesType)
	b = protowire.AppendBytes(b, raw)
	return b
}

// InferResponse is a ModelInferResponse with one FP32 output "y" of shape
// [len(ys), 1] in raw_output_contents.
func InferResponse(model, id string, ys ...float32) []byte {
	var out []byte
	out = protowire.AppendTag(out, 1, protowire.BytesType)
	out = protowire.AppendString(out, "y")
	out = protowire.AppendTag(out, 2, protowire.BytesType)
	out = protowire.AppendString(out, "FP32")
	out = protowire.AppendTag(out, 3, protowire.BytesType)
	out = protowire.AppendBytes(out, protowire.AppendVarint(protowire.AppendVarint(nil, uint64(len(ys))), 1))
	raw := make([]byte, 0, 4*len(ys))
	for _, y := range ys {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(y))
	}
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, model)
	if id != "" {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, id)
	}
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	b = protowire.AppendBytes(b, out)
	b = protowire.AppendTag(b, 6, protowire.BytesType)
	b = protowire.AppendBytes(b, raw)
	return b
}

// InferID reads the id (field 3) of a ModelInferRequest or response.
func InferID(b []byte) string {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ""
		}
		b = b[n:]
		if num == 3 && typ == protowire.BytesType {
			v, _ := protowire.ConsumeString(b)
			return v
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return ""
		}
		b = b[n:]
	}
	return ""
}

// rawCodec carries messages as their bytes (*[]byte).
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	if b, ok := v.(*[]byte); ok {
		return *b, nil
	}
	return nil, fmt.Errorf("testupstream: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	if b, ok := v.(*[]byte); ok {
		*b = append((*b)[:0], data...)
		return nil
	}
	return fmt.Errorf("testupstream: cannot unmarshal into %T", v)
}

func (rawCodec) Name() string { return "proto" }

// DialGRPC returns a client of addr that sends and receives messages as
// *[]byte, closed when the test ends.
func DialGRPC(tb testing.TB, addr string) *grpc.ClientConn {
	tb.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cc.Close() })
	return cc
}
