package sidecar

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/driftcar/driftcar/internal/testutil"
)

const methodModelInfer = "/inference.GRPCInferenceService/ModelInfer"

// rawFrame is one serialized message; rawCodec relays it unchanged, so
// the test server and client need no generated types.
type rawFrame struct{ b []byte }

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case *rawFrame:
		return m.b, nil
	case proto.Message:
		return proto.Marshal(m)
	}
	return nil, fmt.Errorf("cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	switch m := v.(type) {
	case *rawFrame:
		m.b = append([]byte(nil), data...)
		return nil
	case proto.Message:
		return proto.Unmarshal(data, m)
	}
	return fmt.Errorf("cannot unmarshal into %T", v)
}

func (rawCodec) Name() string { return "proto" }

// inferServer is a real grpc-go server of the Open Inference service's
// ModelInfer, written from its descriptor; answer makes each response.
type inferServer struct {
	addr   string
	calls  atomic.Int64
	answer func(n int64, md metadata.MD, req []byte) ([]byte, error)
}

func startInferServer(t *testing.T, answer func(n int64, md metadata.MD, req []byte) ([]byte, error)) *inferServer {
	t.Helper()
	u := &inferServer{answer: answer}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.addr = ln.Addr().String()
	srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}))
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "inference.GRPCInferenceService",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "ModelInfer", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			req := new(rawFrame)
			if err := dec(req); err != nil {
				return nil, err
			}
			md, _ := metadata.FromIncomingContext(ctx)
			b, err := u.answer(u.calls.Add(1), md, req.b)
			if err != nil {
				return nil, err
			}
			return &rawFrame{b: b}, nil
		}}},
	}, u)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return u
}

// grpcClient is a client of the sidecar's gRPC listener.
func grpcClient(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// modelInfer makes one unary ModelInfer call with metadata kv.
func modelInfer(cc *grpc.ClientConn, req []byte, kv ...string) ([]byte, metadata.MD, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, kv...)
	var out rawFrame
	var header metadata.MD
	err := cc.Invoke(ctx, methodModelInfer, &rawFrame{b: req}, &out, grpc.ForceCodec(rawCodec{}), grpc.Header(&header))
	return out.b, header, err
}

// row is one instance of the test model's inputs.
type row struct {
	age, income float32
	country     string
}

// inferRequest is a Triton-shaped ModelInferRequest of rows: FP32 inputs
// age and income in raw_input_contents, BYTES input country in typed
// contents.
func inferRequest(id string, rows []row) []byte {
	n := uint64(len(rows))
	tensor := func(name, dt string, contents []byte) []byte {
		var b []byte
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, name)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, dt)
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, protowire.AppendVarint(nil, n))
		if contents != nil {
			b = protowire.AppendTag(b, 5, protowire.BytesType)
			b = protowire.AppendBytes(b, contents)
		}
		return b
	}
	var ages, incomes, countries []byte
	for _, r := range rows {
		ages = binary.LittleEndian.AppendUint32(ages, math.Float32bits(r.age))
		incomes = binary.LittleEndian.AppendUint32(incomes, math.Float32bits(r.income))
		countries = protowire.AppendTag(countries, 8, protowire.BytesType)
		countries = protowire.AppendString(countries, r.country)
	}
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, "credit")
	if id != "" {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, id)
	}
	for _, t := range [][]byte{tensor("age", "FP32", nil), tensor("income", "FP32", nil), tensor("country", "BYTES", countries)} {
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendBytes(b, t)
	}
	for _, raw := range [][]byte{ages, incomes} {
		b = protowire.AppendTag(b, 7, protowire.BytesType)
		b = protowire.AppendBytes(b, raw)
	}
	return b
}

// inferResponse is a ModelInferResponse with FP32 output prob [n, 1] in
// raw_output_contents.
func inferResponse(preds ...float32) []byte {
	var shape, raw []byte
	shape = protowire.AppendVarint(shape, uint64(len(preds)))
	shape = protowire.AppendVarint(shape, 1)
	for _, p := range preds {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(p))
	}
	var out []byte
	out = protowire.AppendTag(out, 1, protowire.BytesType)
	out = protowire.AppendString(out, "prob")
	out = protowire.AppendTag(out, 2, protowire.BytesType)
	out = protowire.AppendString(out, "FP32")
	out = protowire.AppendTag(out, 3, protowire.BytesType)
	out = protowire.AppendBytes(out, shape)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, "credit")
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	b = protowire.AppendBytes(b, out)
	b = protowire.AppendTag(b, 6, protowire.BytesType)
	b = protowire.AppendBytes(b, raw)
	return b
}

// fixedAnswer answers every call with resp.
func fixedAnswer(resp []byte) func(int64, metadata.MD, []byte) ([]byte, error) {
	return func(int64, metadata.MD, []byte) ([]byte, error) { return resp, nil }
}

// grpcRouteConfig serves route predict over both listeners: live and
// canary each have an HTTP address and a gRPC address.
func grpcRouteConfig(live, liveGRPC, canary, canaryGRPC string, liveWeight, canaryWeight int, extra string) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
grpc_listen: 127.0.0.1:0
model: credit-risk
drain_timeout: 5s
upstreams:
  live:   { address: %s, grpc_address: %s }
  canary: { address: %s, grpc_address: %s }
routes:
  - name: predict
    protocol: open-inference-v2
    split:
      - { upstream: live,   weight: %d }
      - { upstream: canary, weight: %d }
%s`, live, liveGRPC, canary, canaryGRPC, liveWeight, canaryWeight, extra)
}

// answeredBy answers with a response whose model_version names who.
func answeredBy(who string) func(int64, metadata.MD, []byte) ([]byte, error) {
	return func(_ int64, md metadata.MD, _ []byte) ([]byte, error) {
		if v := md.Get("x-fail"); len(v) > 0 {
			return nil, status.Error(codes.FailedPrecondition, "model "+who+" refuses")
		}
		var b []byte
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		return protowire.AppendString(b, who), nil
	}
}

func TestGRPCListenerRelaysReloadsAndReportsHealth(t *testing.T) {
	live := startInferServer(t, answeredBy("live"))
	canary := startInferServer(t, answeredBy("canary"))
	// The upstreams' HTTP address is their gRPC one: readiness dials it.
	r := start(t, grpcRouteConfig(live.addr, live.addr, canary.addr, canary.addr, 100, 0, ""))
	if r.s.GRPCAddr() == "" {
		t.Fatal("GRPCAddr is empty with grpc_listen set")
	}
	cc := grpcClient(t, r.s.GRPCAddr())

	hc := healthpb.NewHealthClient(cc)
	testutil.Eventually(t, 5*time.Second, "grpc.health.v1 reports SERVING once the live upstream is reached", func() bool {
		resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
		return err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING
	})

	want := answeredBy("live")
	wb, _ := want(0, nil, nil)
	got, _, err := modelInfer(cc, inferRequest("r1", []row{{20, 1000, "DE"}}))
	if err != nil || string(got) != string(wb) {
		t.Fatalf("ModelInfer: got %q, %v; want the live answer %q", got, err, wb)
	}
	_, _, err = modelInfer(cc, inferRequest("r2", nil), "x-fail", "1")
	if st, _ := status.FromError(err); st.Code() != codes.FailedPrecondition || st.Message() != "model live refuses" {
		t.Fatalf("failing call: got %v; want the upstream's FailedPrecondition unchanged", err)
	}

	testutil.WriteFile(t, r.path, grpcRouteConfig(live.addr, live.addr, canary.addr, canary.addr, 0, 100, ""))
	r.reload <- struct{}{}
	cb, _ := answeredBy("canary")(0, nil, nil)
	testutil.Eventually(t, 5*time.Second, "a reload moves gRPC traffic to the canary", func() bool {
		got, _, err := modelInfer(cc, inferRequest("r3", nil))
		return err == nil && string(got) == string(cb)
	})

	// A reload cannot move the listener.
	moved := strings.Replace(grpcRouteConfig(live.addr, live.addr, canary.addr, canary.addr, 0, 100, ""), "grpc_listen: 127.0.0.1:0", "grpc_listen: 127.0.0.1:1", 1)
	testutil.WriteFile(t, r.path, moved)
	if err := r.s.Reload(); err == nil || !strings.Contains(err.Error(), "grpc_listen") {
		t.Errorf("reload moving grpc_listen: got %v; want a restart error", err)
	}

	_, metrics, _ := get(t, "http://"+r.s.AdminAddr()+"/metrics")
	for _, w := range []string{
		`driftcar_grpc_requests_total{arm="canary",code="OK",model="credit-risk",route="predict"} 1`,
		`driftcar_grpc_requests_total{arm="live",code="FailedPrecondition",model="credit-risk",route="predict"} 1`,
	} {
		if !strings.Contains(metrics, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
}

func TestNoGRPCListenerWithoutGRPCListen(t *testing.T) {
	live := startInferServer(t, answeredBy("live"))
	r := start(t, configYAML(live.addr, live.addr, 100, 0))
	if got := r.s.GRPCAddr(); got != "" {
		t.Errorf("GRPCAddr without grpc_listen: got %q; want empty", got)
	}
}

// Before the fix a New failing after the gRPC relay was built leaked its
// listener and upstream connections (goleak in TestMain catches the
// connections' goroutines).
func TestGRPCListenerClosesWhenNewFails(t *testing.T) {
	live := startInferServer(t, answeredBy("live"))
	busy := testutil.Listen(t, "127.0.0.1:0")
	grpcAddr := testutil.Listen(t, "127.0.0.1:0")
	addr := grpcAddr.Addr().String()
	_ = grpcAddr.Close()
	yaml := strings.Replace(grpcRouteConfig(live.addr, live.addr, live.addr, live.addr, 1, 0, ""),
		"admin: 127.0.0.1:0", "admin: "+busy.Addr().String(), 1)
	yaml = strings.Replace(yaml, "grpc_listen: 127.0.0.1:0", "grpc_listen: "+addr, 1)
	path := t.TempDir() + "/driftcar.yaml"
	testutil.WriteFile(t, path, yaml)
	if _, err := New(Options{ConfigPath: path}); err == nil || !strings.Contains(err.Error(), "admin") {
		t.Fatalf("New with a busy admin port: got %v; want an admin listen error", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the gRPC address stays bound after New failed: %v", err)
	}
	_ = ln.Close()
}
