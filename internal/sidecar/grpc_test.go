package sidecar

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
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

	"github.com/driftcar/driftcar/internal/testupstream"
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

// inferRequest is a ModelInferRequest of rows with FP32 inputs age and
// income and BYTES input country: Triton-shaped, all in
// raw_input_contents, or with typed contents when typed is set.
func inferRequest(id string, rows []row, typed bool) []byte {
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
		if typed {
			countries = protowire.AppendTag(countries, 8, protowire.BytesType)
			countries = protowire.AppendString(countries, r.country)
		} else {
			countries = binary.LittleEndian.AppendUint32(countries, uint32(len(r.country)))
			countries = append(countries, r.country...)
		}
	}
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, "credit")
	if id != "" {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, id)
	}
	fp32 := func(raw []byte) []byte { // InferTensorContents.fp32_contents, packed
		var c []byte
		c = protowire.AppendTag(c, 6, protowire.BytesType)
		return protowire.AppendBytes(c, raw)
	}
	inputs := [][]byte{tensor("age", "FP32", nil), tensor("income", "FP32", nil), tensor("country", "BYTES", nil)}
	if typed {
		inputs = [][]byte{tensor("age", "FP32", fp32(ages)), tensor("income", "FP32", fp32(incomes)), tensor("country", "BYTES", countries)}
	}
	for _, t := range inputs {
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendBytes(b, t)
	}
	if !typed {
		for _, raw := range [][]byte{ages, incomes, countries} {
			b = protowire.AppendTag(b, 7, protowire.BytesType)
			b = protowire.AppendBytes(b, raw)
		}
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
	got, _, err := modelInfer(cc, inferRequest("r1", []row{{20, 1000, "DE"}}, false))
	if err != nil || string(got) != string(wb) {
		t.Fatalf("ModelInfer: got %q, %v; want the live answer %q", got, err, wb)
	}
	_, _, err = modelInfer(cc, inferRequest("r2", nil, false), "x-fail", "1")
	if st, _ := status.FromError(err); st.Code() != codes.FailedPrecondition || st.Message() != "model live refuses" {
		t.Fatalf("failing call: got %v; want the upstream's FailedPrecondition unchanged", err)
	}

	testutil.WriteFile(t, r.path, grpcRouteConfig(live.addr, live.addr, canary.addr, canary.addr, 0, 100, ""))
	r.reload <- struct{}{}
	cb, _ := answeredBy("canary")(0, nil, nil)
	testutil.Eventually(t, 5*time.Second, "a reload moves gRPC traffic to the canary", func() bool {
		got, _, err := modelInfer(cc, inferRequest("r3", nil, false))
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
	defer busy.Close() // held (and referenced) until New has failed on it
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

// startManual runs the sidecar of yaml with the clock and manual drift
// ticks.
func startManual(t *testing.T, yaml string, clock *fakeClock) *running {
	t.Helper()
	path := t.TempDir() + "/driftcar.yaml"
	testutil.WriteFile(t, path, yaml)
	s, err := New(Options{ConfigPath: path, Now: clock.Now, CalibrationTicks: 20000, ManualTicks: true, ProbeInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, path: path, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

// samplingTail samples route predict and monitors age, income, country
// and the prediction against ref.
func samplingTail(ref string) string {
	return fmt.Sprintf(`    sample: { fraction: 1, queue: 8192 }
features:
  - { name: age, type: numeric }
  - { name: income, type: numeric }
  - { name: country, type: categorical }
prediction: { type: numeric }
reference: { file: %s }
sketch: { slices: 10, slice_duration: 1m }
drift: { windows: [5m], min_samples: 100 }
`, ref)
}

// The same four rows over REST (v2 JSON) and over gRPC (ModelInfer, raw
// and typed contents) move the feature and prediction sketches alike; a
// message that is not a ModelInferRequest is relayed unchanged and
// counted as malformed_protobuf.
func TestGRPCSamplingMatchesREST(t *testing.T) {
	rows := []row{{20, 1000, "DE"}, {30, 2000, "FR"}, {40, 3000, "US"}, {50, 4000, "DE"}}
	preds := []float32{0.25, 0.5, 0.75, 0.875}
	restAnswer := `{"model_name":"credit","outputs":[{"name":"prob","datatype":"FP32","shape":[4,1],"data":[0.25,0.5,0.75,0.875]}]}`
	restLive := testupstream.Start(t, testupstream.Answer("live", restAnswer))
	var garbage atomic.Pointer[[]byte]
	grpcLive := startInferServer(t, func(_ int64, _ metadata.MD, req []byte) ([]byte, error) {
		if len(req) > 0 && req[0] == 0xff {
			garbage.Store(&req)
			return []byte("not checked"), nil
		}
		return inferResponse(preds...), nil
	})
	ref := filepath.Join(t.TempDir(), "reference.json")
	writeReference(t, ref)
	clock := &fakeClock{}
	clock.Advance(time.Hour)
	r := startManual(t, grpcRouteConfig(restLive, grpcLive.addr, restLive, grpcLive.addr, 1, 0, samplingTail(ref)), clock)
	admin := "http://" + r.s.AdminAddr()

	restBody := `{"inputs":[` +
		`{"name":"age","datatype":"FP32","shape":[4],"data":[20,30,40,50]},` +
		`{"name":"income","datatype":"FP32","shape":[4],"data":[1000,2000,3000,4000]},` +
		`{"name":"country","datatype":"BYTES","shape":[4],"data":["DE","FR","US","DE"]}]}`
	for range 5 {
		resp, err := http.Post("http://"+r.s.ProxyAddr()+"/v2/models/credit/infer", "application/json", strings.NewReader(restBody))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("REST status %d", resp.StatusCode)
		}
	}
	// Each line with the count after REST only; gRPC doubles it.
	lines := func(k int) []string {
		return []string{
			fmt.Sprintf(`driftcar_sampler_rows_total{model="credit-risk",route="predict"} %d`, 20*k),
			fmt.Sprintf(`driftcar_feature_value_count{feature="age",model="credit-risk",route="predict"} %d`, 20*k),
			fmt.Sprintf(`driftcar_feature_value_sum{feature="age",model="credit-risk",route="predict"} %d`, 700*k),
			fmt.Sprintf(`driftcar_feature_value_sum{feature="income",model="credit-risk",route="predict"} %d`, 50000*k),
			fmt.Sprintf(`driftcar_feature_category_total{category="DE",feature="country",model="credit-risk",route="predict"} %d`, 10*k),
			fmt.Sprintf(`driftcar_feature_value_count{feature="__prediction__",model="credit-risk",route="predict"} %d`, 20*k),
			fmt.Sprintf(`driftcar_feature_value_sum{feature="__prediction__",model="credit-risk",route="predict"} %g`, 11.875*float64(k)),
		}
	}
	waitMetrics(t, admin, "REST rows are sampled", lines(1)...)

	cc := grpcClient(t, r.s.GRPCAddr())
	for i := range 5 {
		got, _, err := modelInfer(cc, inferRequest(fmt.Sprintf("g%d", i), rows, false))
		if err != nil || string(got) != string(inferResponse(preds...)) {
			t.Fatalf("gRPC call %d: got %q, %v", i, got, err)
		}
	}
	waitMetrics(t, admin, "gRPC rows are sampled as REST rows are", lines(2)...)

	bad := []byte{0xff, 0xff, 0xff}
	got, _, err := modelInfer(cc, bad)
	if err != nil || string(got) != "not checked" {
		t.Fatalf("malformed call: got %q, %v; want the upstream's answer", got, err)
	}
	if g := garbage.Load(); g == nil || string(*g) != string(bad) {
		t.Fatalf("upstream got %v; want the malformed message unchanged", g)
	}
	waitMetrics(t, admin, "the malformed message is counted",
		`driftcar_sampler_invalid_total{model="credit-risk",reason="malformed_protobuf",route="predict"} 1`)
	waitMetrics(t, admin, "and adds no rows", lines(2)...)
}

// Drift over gRPC: stationary traffic keeps age and the prediction ok; a
// shift of both raises drift, as TestDriftDetectedAndWebhookCalled does
// over REST.
func TestGRPCDriftDetected(t *testing.T) {
	var shift atomic.Bool
	grpcLive := startInferServer(t, func(n int64, _ metadata.MD, _ []byte) ([]byte, error) {
		preds := make([]float32, 10)
		for j := range preds {
			preds[j] = float32(((n*10+int64(j))*7919)%1000) / 1000
			if shift.Load() {
				preds[j] = 0.9 + preds[j]/10
			}
		}
		return inferResponse(preds...), nil
	})
	ref := filepath.Join(t.TempDir(), "reference.json")
	writeReference(t, ref)
	clock := &fakeClock{}
	clock.Advance(time.Hour)
	r := startManual(t, grpcRouteConfig(grpcLive.addr, grpcLive.addr, grpcLive.addr, grpcLive.addr, 1, 0, samplingTail(ref)), clock)
	cc := grpcClient(t, r.s.GRPCAddr())
	call := func(i, offset int) {
		t.Helper()
		rows := make([]row, 10)
		for j := range rows {
			k := i*10 + j
			rows[j] = row{float32(20 + k%50 + offset), float32(1000 + 50*((k*7919)%1000)), []string{"DE", "FR", "US"}[k%3]}
		}
		if _, _, err := modelInfer(cc, inferRequest("", rows, true)); err != nil {
			t.Fatal(err)
		}
	}
	minutes := func(from, n, offset int) {
		for m := range n {
			for i := range 30 {
				call((from+m)*30+i, offset)
			}
			waitRows(t, r, uint64(min(300*(from+m+1), 1500)))
			for range 6 {
				clock.Advance(10 * time.Second)
				r.s.TickDrift(clock.Now())
			}
		}
	}
	minutes(0, 5, 0)
	for _, f := range []string{"age", "__prediction__"} {
		if got := featureState(t, r, f); got != "ok" {
			t.Fatalf("%s after 5 stationary minutes: got %s; want ok", f, got)
		}
	}
	shift.Store(true)
	minutes(5, 3, 30)
	_, metrics, _ := get(t, "http://"+r.s.AdminAddr()+"/metrics")
	for _, f := range []string{"age", "__prediction__"} {
		want := fmt.Sprintf(`driftcar_drift_state{feature=%q,model="credit-risk",route="predict"} 3`, f)
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s (state %s)", want, featureState(t, r, f))
		}
	}
	if got := featureState(t, r, "country"); got == "drift" {
		t.Error("country: got drift; it did not change")
	}
}

// A canary failing over gRPC only is rolled back: the guard reads the
// relay's per-arm counts, and the rollback reaches the gRPC table.
func TestCanaryGuardRollsBackAGRPCCanary(t *testing.T) {
	answer := func(errorEvery int64) func(int64, metadata.MD, []byte) ([]byte, error) {
		return func(n int64, _ metadata.MD, _ []byte) ([]byte, error) {
			if errorEvery > 0 && n%errorEvery == 0 {
				return nil, status.Error(codes.Unavailable, "model overloaded")
			}
			return inferResponse(float32((n*7919)%1000) / 1000), nil
		}
	}
	live := startInferServer(t, answer(0))
	canary := startInferServer(t, answer(5))
	ref := filepath.Join(t.TempDir(), "reference.json")
	writeReference(t, ref)
	clock := &fakeClock{}
	clock.Advance(time.Hour)
	r := startManual(t, grpcRouteConfig(live.addr, live.addr, canary.addr, canary.addr, 50, 50,
		samplingTail(ref)+"canary_guard: { min_requests: 200, window: 1m }\n"), clock)
	cc := grpcClient(t, r.s.GRPCAddr())
	burst := func(n int) {
		t.Helper()
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < n; i += 8 {
					_, _, err := modelInfer(cc, inferRequest("", []row{{float32(20 + i%50), 1000, "DE"}}, false))
					if err != nil && status.Code(err) != codes.Unavailable {
						t.Errorf("call %d: %v", i, err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	for tick := 0; tick < 12 && canaryState(t, r) != "rolled_back"; tick++ {
		burst(600)
		waitSampled(t, r)
		clock.Advance(10 * time.Second)
		r.s.TickDrift(clock.Now())
	}
	if got := canaryState(t, r); got != "rolled_back" {
		t.Fatalf("canary state: got %s; want rolled_back\n%+v", got, r.s.currentMonitor().View().Canary)
	}
	_, metrics, _ := get(t, "http://"+r.s.AdminAddr()+"/metrics")
	if want := `driftcar_canary_rollback_total{model="credit-risk",reason="error_rate",route="predict"} 1`; !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %s", want)
	}
	if st := r.s.proxy.Stats("predict"); st[1].Requests != 0 {
		t.Errorf("the HTTP proxy counted %d canary requests; the test sends gRPC only", st[1].Requests)
	}
	before := canary.calls.Load()
	burst(200)
	if after := canary.calls.Load(); after != before {
		t.Errorf("the rolled-back canary still got %d gRPC calls", after-before)
	}
}
