package demo

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

// The Open Inference Protocol's gRPC service and the demo's one method of
// it. Messages are written and read with protowire from the published
// field numbers: ModelInferRequest model_name 1, id 3, inputs 5
// (InferInputTensor: name 1, datatype 2, shape 3, contents 5);
// ModelInferResponse model_name 1, id 3, outputs 5; InferTensorContents
// fp32_contents 6, bytes_contents 8.
const (
	inferenceService = "inference.GRPCInferenceService"
	methodModelInfer = "/" + inferenceService + "/ModelInfer"
)

// grpcModel serves one model's ModelInfer over gRPC: an applicant's five
// features as one-element input tensors named after them (FP32 numbers,
// BYTES categories) in, an FP32 output "probabilities" of shape [1, 2]
// (p_reject, p_approve) out, as the REST server answers.
type grpcModel struct {
	name string
	m    *model
	srv  *grpc.Server
	ln   net.Listener
	done chan struct{}
}

func startGRPCModel(name string, m *model) (*grpcModel, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot start the %s gRPC model server: %w", name, err)
	}
	g := &grpcModel{name: name, m: m, ln: ln, done: make(chan struct{})}
	g.srv = grpc.NewServer(grpc.ForceServerCodec(rawCodec{}))
	g.srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: inferenceService,
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "ModelInfer", Handler: g.modelInfer}},
	}, nil)
	go func() { defer close(g.done); _ = g.srv.Serve(ln) }()
	return g, nil
}

func (g *grpcModel) addr() string { return g.ln.Addr().String() }

func (g *grpcModel) stop(ctx context.Context) {
	stopped := make(chan struct{})
	go func() { g.srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		g.srv.Stop()
	}
	<-g.done
}

func (g *grpcModel) modelInfer(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	var req []byte
	if err := dec(&req); err != nil {
		return nil, err
	}
	a, id, err := readApplicant(req)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	pa := g.m.approve(a)
	resp := inferResponse(g.name, id, float32(1-pa), float32(pa))
	return &resp, nil
}

// inferRequest is a ModelInferRequest for one applicant.
func inferRequest(id string, a applicant) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, "credit")
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, id)
	for _, f := range []struct {
		name string
		num  float64
		cat  string
	}{{"age", a.Age, ""}, {"income", a.Income, ""}, {"debt_ratio", a.DebtRatio, ""}, {"country", 0, a.Country}, {"channel", 0, a.Channel}} {
		var contents []byte
		dt := "FP32"
		if f.cat != "" {
			dt = "BYTES"
			contents = protowire.AppendTag(contents, 8, protowire.BytesType)
			contents = protowire.AppendString(contents, f.cat)
		} else {
			contents = protowire.AppendTag(contents, 6, protowire.BytesType)
			contents = protowire.AppendBytes(contents, binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(f.num))))
		}
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendBytes(b, tensor(f.name, dt, []uint64{1}, contents))
	}
	return b
}

// inferResponse is a ModelInferResponse with the output probabilities.
func inferResponse(model, id string, probs ...float32) []byte {
	var packed []byte
	for _, p := range probs {
		packed = binary.LittleEndian.AppendUint32(packed, math.Float32bits(p))
	}
	var contents []byte
	contents = protowire.AppendTag(contents, 6, protowire.BytesType)
	contents = protowire.AppendBytes(contents, packed)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, model)
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, id)
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	b = protowire.AppendBytes(b, tensor("probabilities", "FP32", []uint64{1, uint64(len(probs))}, contents))
	return b
}

// tensor is an InferInputTensor or InferOutputTensor (the same fields).
func tensor(name, datatype string, shape []uint64, contents []byte) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, datatype)
	var dims []byte
	for _, d := range shape {
		dims = protowire.AppendVarint(dims, d)
	}
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendBytes(b, dims)
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	return protowire.AppendBytes(b, contents)
}

var errMalformed = errors.New("malformed ModelInferRequest")

// readApplicant reads the inputs and id of a request inferRequest wrote.
func readApplicant(msg []byte) (applicant, string, error) {
	var a applicant
	var id string
	err := fields(msg, func(num protowire.Number, v []byte) error {
		switch num {
		case 3:
			id = string(v)
		case 5:
			var name string
			var num32 float32
			var text string
			if err := fields(v, func(n protowire.Number, tv []byte) error {
				switch n {
				case 1:
					name = string(tv)
				case 5:
					return fields(tv, func(cn protowire.Number, cv []byte) error {
						switch {
						case cn == 6 && len(cv) >= 4:
							num32 = math.Float32frombits(binary.LittleEndian.Uint32(cv))
						case cn == 8:
							text = string(cv)
						}
						return nil
					})
				}
				return nil
			}); err != nil {
				return err
			}
			switch name {
			case "age":
				a.Age = float64(num32)
			case "income":
				a.Income = float64(num32)
			case "debt_ratio":
				a.DebtRatio = float64(num32)
			case "country":
				a.Country = text
			case "channel":
				a.Channel = text
			}
		}
		return nil
	})
	return a, id, err
}

// fields calls f with each length-delimited field of msg and skips the
// others.
func fields(msg []byte, f func(protowire.Number, []byte) error) error {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return errMalformed
		}
		msg = msg[n:]
		if typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(msg)
			if n < 0 {
				return errMalformed
			}
			if err := f(num, v); err != nil {
				return err
			}
			msg = msg[n:]
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, msg); n < 0 {
			return errMalformed
		}
		msg = msg[n:]
	}
	return nil
}

// rawCodec carries messages as their serialized bytes (*[]byte). It is
// forced on the demo's own servers and client, never registered.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	if b, ok := v.(*[]byte); ok {
		return *b, nil
	}
	return nil, fmt.Errorf("demo: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	if b, ok := v.(*[]byte); ok {
		*b = append((*b)[:0], data...)
		return nil
	}
	return fmt.Errorf("demo: cannot unmarshal into %T", v)
}

func (rawCodec) Name() string { return "proto" }

// dialGRPC is the traffic's client of driftcar's gRPC listener.
func dialGRPC(addr string) (*grpc.ClientConn, error) {
	cc, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		return nil, fmt.Errorf("cannot dial driftcar's gRPC listener %s: %w", addr, err)
	}
	return cc, nil
}
