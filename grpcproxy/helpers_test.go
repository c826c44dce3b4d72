package grpcproxy

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/driftcar/driftcar/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	service      = "inference.GRPCInferenceService"
	methodInfer  = "/" + service + "/ModelInfer"
	methodStream = "/" + service + "/ModelStreamInfer"
	methodCount  = "/" + service + "/CountStream"
)

// seen is what a test upstream saw of its last call.
type seen struct {
	method   string
	md       metadata.MD
	body     []byte
	deadline time.Time
}

// upstream is a real grpc-go server implementing part of the Open
// Inference service with hand-written descriptors and the raw codec.
// ModelInfer answers a ModelInferResponse whose id is the request's; the
// request metadata steers it:
//
//	x-code: N      fail with status code N, a message and an ErrorInfo detail
//	x-sleep: D     wait D (or until the call ends) before answering
//	x-big: N       answer N bytes
//
// It sets header x-upstream and trailer x-trailer to its name.
type upstream struct {
	name string
	addr string
	srv  *grpc.Server

	mu    sync.Mutex
	last  seen
	calls int
}

func startUpstream(tb testing.TB, name string) *upstream {
	tb.Helper()
	u := &upstream{name: name}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	u.addr = ln.Addr().String()
	u.srv = grpc.NewServer(grpc.ForceServerCodec(codec{}), grpc.MaxRecvMsgSize(256<<20), grpc.MaxSendMsgSize(256<<20))
	u.srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: service,
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "ModelInfer", Handler: u.modelInfer}},
		Streams: []grpc.StreamDesc{
			{StreamName: "ModelStreamInfer", Handler: u.streamInfer, ServerStreams: true, ClientStreams: true},
			{StreamName: "CountStream", Handler: u.countStream, ServerStreams: true},
		},
	}, u)
	go func() { _ = u.srv.Serve(ln) }()
	tb.Cleanup(u.srv.Stop)
	return u
}

func (u *upstream) record(ctx context.Context, method string, body []byte) {
	md, _ := metadata.FromIncomingContext(ctx)
	dl, _ := ctx.Deadline()
	u.mu.Lock()
	u.last = seen{method: method, md: md, body: body, deadline: dl}
	u.calls++
	u.mu.Unlock()
}

func (u *upstream) seen() (seen, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last, u.calls
}

func (u *upstream) modelInfer(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	req := new(Frame)
	if err := dec(req); err != nil {
		return nil, err
	}
	u.record(ctx, methodInfer, req.b)
	md, _ := metadata.FromIncomingContext(ctx)
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-upstream", u.name))
	_ = grpc.SetTrailer(ctx, metadata.Pairs("x-trailer", "t-"+u.name))
	if v := md.Get("x-sleep"); len(v) > 0 {
		d, _ := time.ParseDuration(v[0])
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	if v := md.Get("x-code"); len(v) > 0 {
		n, _ := strconv.Atoi(v[0])
		st, err := status.New(codes.Code(n), "model "+u.name+" says no").WithDetails(&errdetails.ErrorInfo{Reason: "TEST", Domain: u.name})
		if err != nil {
			return nil, err
		}
		return nil, st.Err()
	}
	if v := md.Get("x-big"); len(v) > 0 {
		n, _ := strconv.Atoi(v[0])
		return &Frame{b: make([]byte, n)}, nil
	}
	return &Frame{b: inferResponse(u.name, requestID(req.b), 0.25)}, nil
}

// streamInfer answers each request with a response carrying its id.
func (u *upstream) streamInfer(_ any, ss grpc.ServerStream) error {
	_ = ss.SetHeader(metadata.Pairs("x-upstream", u.name))
	for {
		req := new(Frame)
		if err := ss.RecvMsg(req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		u.record(ss.Context(), methodStream, req.b)
		if err := ss.SendMsg(&Frame{b: inferResponse(u.name, requestID(req.b), 0.5)}); err != nil {
			return err
		}
	}
}

// countStream reads one message holding a count n and sends n messages.
func (u *upstream) countStream(_ any, ss grpc.ServerStream) error {
	req := new(Frame)
	if err := ss.RecvMsg(req); err != nil {
		return err
	}
	u.record(ss.Context(), methodCount, req.b)
	n, _ := strconv.Atoi(string(req.b))
	for i := range n {
		if err := ss.SendMsg(&Frame{b: []byte(strconv.Itoa(i))}); err != nil {
			return err
		}
	}
	ss.SetTrailer(metadata.Pairs("x-count", strconv.Itoa(n)))
	return nil
}

// inferRequest is a Triton-shaped ModelInferRequest: model, id, one FP32
// input "x" of shape [rows, 2] in raw_input_contents.
func inferRequest(model, id string, rows int) []byte {
	var in []byte
	in = protowire.AppendTag(in, 1, protowire.BytesType)
	in = protowire.AppendString(in, "x")
	in = protowire.AppendTag(in, 2, protowire.BytesType)
	in = protowire.AppendString(in, "FP32")
	var shape []byte
	shape = protowire.AppendVarint(shape, uint64(rows))
	shape = protowire.AppendVarint(shape, 2)
	in = protowire.AppendTag(in, 3, protowire.BytesType)
	in = protowire.AppendBytes(in, shape)
	raw := make([]byte, 0, rows*8)
	for i := range rows * 2 {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(i)))
	}
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, model)
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, id)
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	b = protowire.AppendBytes(b, in)
	b = protowire.AppendTag(b, 7, protowire.BytesType)
	b = protowire.AppendBytes(b, raw)
	return b
}

// inferResponse is a ModelInferResponse with one FP32 output "y" [1,1].
func inferResponse(model, id string, y float32) []byte {
	var out []byte
	out = protowire.AppendTag(out, 1, protowire.BytesType)
	out = protowire.AppendString(out, "y")
	out = protowire.AppendTag(out, 2, protowire.BytesType)
	out = protowire.AppendString(out, "FP32")
	out = protowire.AppendTag(out, 3, protowire.BytesType)
	out = protowire.AppendBytes(out, []byte{1, 1})
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, model)
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, id)
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	b = protowire.AppendBytes(b, out)
	b = protowire.AppendTag(b, 6, protowire.BytesType)
	b = protowire.AppendBytes(b, binary.LittleEndian.AppendUint32(nil, math.Float32bits(y)))
	return b
}

// requestID reads field 3 of a ModelInferRequest.
func requestID(b []byte) string {
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
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return ""
		}
		b = b[n:]
	}
	return ""
}

// front is a Server under test, listening on loopback, and a client of it.
type front struct {
	srv  *Server
	reg  *prometheus.Registry
	addr string
	cc   *grpc.ClientConn
}

// startFront parses yaml into a config and serves it.
func startFront(tb testing.TB, yaml string, opts Options) *front {
	tb.Helper()
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		tb.Fatalf("config:\n%s\n%v", yaml, err)
	}
	f := &front{reg: prometheus.NewRegistry()}
	opts.Registerer = f.reg
	if f.srv, err = New(cfg, opts); err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	f.addr = ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- f.srv.Serve(ln) }()
	f.cc = dial(tb, f.addr)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := f.srv.Shutdown(ctx); err != nil {
			tb.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			tb.Errorf("Serve: %v", err)
		}
	})
	return f
}

func dial(tb testing.TB, addr string) *grpc.ClientConn {
	tb.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(codec{}), grpc.MaxCallRecvMsgSize(256<<20), grpc.MaxCallSendMsgSize(256<<20)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cc.Close() })
	return cc
}

// twoArms is a config with a gRPC inference route over live and canary.
func twoArms(live, canary string, extra string) string {
	return fmt.Sprintf(`grpc_listen: 127.0.0.1:0
upstreams:
  live:   { address: 127.0.0.1:1, grpc_address: %q }
  canary: { address: 127.0.0.1:2, grpc_address: %q }
routes:
  - name: infer
    match: { path_prefix: /inference.GRPCInferenceService/ }
    protocol: open-inference-v2
%s    split:
      - { upstream: live, weight: 1 }
      - { upstream: canary, weight: 0 }
`, live, canary, extra)
}

func ctxTimeout(tb testing.TB, d time.Duration) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}
