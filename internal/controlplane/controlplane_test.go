package controlplane

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	xdstypev3 "github.com/cncf/xds/go/xds/type/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/config/xds"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testupstream.GoleakOptions...)
}

func okModel(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"predictions":[0.5]}`)
}

// fleetFile is a sidecar config with every section the mapping carries.
func fleetFile(live, canary, shadow string, liveWeight, canaryWeight int) string {
	return fmt.Sprintf(`
listen: 0.0.0.0:8080
admin: 127.0.0.1:9901
model: credit-risk
shadow_samples: {keep: 5}
upstreams:
  live: {address: %q, timeout: 5s, max_conns: 64}
  canary: {address: %q, connect_timeout: 250ms}
  shadow: {address: %q, idle_timeout: 10s}
routes:
  - name: predict
    match: {path_prefix: /v1/}
    split:
      - {upstream: live, weight: %d}
      - {upstream: canary, weight: %d}
    sticky: {header: x-user-id}
    arm_override: true
    protocol: json
    shadow:
      upstream: shadow
      fraction: 0.05
      queue: 64
      compare: {path: predictions, abs_tolerance: 0.01}
  - name: health
    match: {path_prefix: /}
    split: [{upstream: live, weight: 1}]
`, live, canary, shadow, liveWeight, canaryWeight)
}

func TestTranslate(t *testing.T) {
	r, err := Translate([]byte(fleetFile("10.0.0.1:8080", "10.0.0.2:8080", "model-shadow.ml.svc:8080", 90, 10)))
	if err != nil {
		t.Fatal(err)
	}
	// Every produced resource passes its generated validation.
	for _, m := range r.all() {
		if err := m.(interface{ ValidateAll() error }).ValidateAll(); err != nil {
			t.Errorf("%T: %v", m, err)
		}
	}
	snap, err := r.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Consistent(); err != nil {
		t.Fatal(err)
	}
	if len(r.Clusters) != 3 || len(r.Endpoints) != 2 || len(r.Listeners) != 1 || len(r.Routes) != 1 || len(r.Extensions) != 1 {
		t.Fatalf("got %d clusters, %d endpoints, %d listeners, %d routes, %d extensions",
			len(r.Clusters), len(r.Endpoints), len(r.Listeners), len(r.Routes), len(r.Extensions))
	}
	byName := map[string]*clusterv3.Cluster{}
	for _, c := range r.Clusters {
		byName[c.GetName()] = c
	}
	if byName["live"].GetType() != clusterv3.Cluster_EDS || byName["shadow"].GetType() != clusterv3.Cluster_STRICT_DNS {
		t.Errorf("got types live %v shadow %v; want EDS for an IP, STRICT_DNS for a name", byName["live"].GetType(), byName["shadow"].GetType())
	}
	if got := byName["canary"].GetConnectTimeout().AsDuration(); got != 250*time.Millisecond {
		t.Errorf("got canary connect_timeout %v", got)
	}
	if got := byName["live"].GetCircuitBreakers().GetThresholds()[0].GetMaxConnections().GetValue(); got != 64 {
		t.Errorf("got live max_connections %d", got)
	}
	rt := r.Routes[0].GetVirtualHosts()[0].GetRoutes()[0]
	action := rt.GetRoute()
	wc := action.GetWeightedClusters()
	if rt.GetName() != "predict" || rt.GetMatch().GetPrefix() != "/v1/" || len(wc.GetClusters()) != 2 || wc.GetClusters()[1].GetWeight().GetValue() != 10 {
		t.Errorf("got route %v", rt)
	}
	if !wc.GetUseHashPolicy().GetValue() || action.GetHashPolicy()[0].GetHeader().GetHeaderName() != "x-user-id" {
		t.Errorf("got sticky %v %v", wc.GetRandomValueSpecifier(), action.GetHashPolicy())
	}
	mp := action.GetRequestMirrorPolicies()[0]
	if mp.GetCluster() != "shadow" || mp.GetRuntimeFraction().GetDefaultValue().GetNumerator() != 5 ||
		mp.GetRuntimeFraction().GetDefaultValue().GetDenominator() != typev3.FractionalPercent_HUNDRED {
		t.Errorf("got mirror %v", mp)
	}
	ts := &xdstypev3.TypedStruct{}
	if err := r.Extensions[0].GetTypedConfig().UnmarshalTo(ts); err != nil || ts.GetTypeUrl() != xds.ConfigTypeURL {
		t.Fatalf("got %v, %v", ts, err)
	}
	doc, _ := json.Marshal(ts.GetValue().AsMap())
	for _, absent := range []string{"listen", "admin", "address", "split", "sticky", "fraction", "path_prefix", "max_conns"} {
		if strings.Contains(string(doc), `"`+absent+`"`) {
			t.Errorf("the ECDS document %s carries %q, which belongs elsewhere", doc, absent)
		}
	}
	for _, present := range []string{`"model":"credit-risk"`, `"timeout":"5s"`, `"abs_tolerance":0.01`, `"arm_override":true`} {
		if !strings.Contains(string(doc), present) {
			t.Errorf("the ECDS document %s lacks %s", doc, present)
		}
	}

	// The same bytes give the same version.
	again, _ := Translate([]byte(fleetFile("10.0.0.1:8080", "10.0.0.2:8080", "model-shadow.ml.svc:8080", 90, 10)))
	other, _ := Translate([]byte(fleetFile("10.0.0.1:8080", "10.0.0.2:8080", "model-shadow.ml.svc:8080", 50, 50)))
	if again.Version != r.Version || other.Version == r.Version {
		t.Errorf("got versions %s %s %s", r.Version, again.Version, other.Version)
	}
}

func TestFractionalPercent(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		num  uint32
		den  typev3.FractionalPercent_DenominatorType
		back float64
	}{
		{1, 100, typev3.FractionalPercent_HUNDRED, 1},
		{0.05, 5, typev3.FractionalPercent_HUNDRED, 0.05},
		{0.0125, 125, typev3.FractionalPercent_TEN_THOUSAND, 0.0125},
		{0.000001, 1, typev3.FractionalPercent_MILLION, 0.000001},
		{0.1234567, 123457, typev3.FractionalPercent_MILLION, 0.123457},
	} {
		got := fractionalPercent(tc.f)
		if got.GetNumerator() != tc.num || got.GetDenominator() != tc.den {
			t.Errorf("fractionalPercent(%v) = %v; want %d/%v", tc.f, got, tc.num, tc.den)
		}
	}
}

func TestTranslateRejectsInvalidFiles(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"weights", fleetFile("10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1", 0, 0), "weights must sum to more than 0"},
		{"unknown field", fleetFile("10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1", 1, 1) + "bogus: 1\n", "bogus: unknown field"},
		{"syntax", "routes: [", "invalid YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Translate([]byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

// The --render output is JSON whose resources decode back into exactly
// what Translate produces.
func TestRender(t *testing.T) {
	data := []byte(fleetFile("10.0.0.1:8080", "10.0.0.2:8080", "model-shadow.ml.svc:8080", 90, 10))
	out, err := Render(data)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	r, _ := Translate(data)
	var version string
	_ = json.Unmarshal(doc["version"], &version)
	if version != r.Version {
		t.Errorf("got version %q; want %q", version, r.Version)
	}
	check := func(key string, want []proto.Message, fresh func() proto.Message) {
		var items []json.RawMessage
		if err := json.Unmarshal(doc[key], &items); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if len(items) != len(want) {
			t.Fatalf("%s: got %d items; want %d", key, len(items), len(want))
		}
		for i, raw := range items {
			m := fresh()
			if err := protojson.Unmarshal(raw, m); err != nil {
				t.Fatalf("%s[%d]: %v", key, i, err)
			}
			if !proto.Equal(m, want[i]) {
				t.Errorf("%s[%d] does not round-trip:\n%s", key, i, raw)
			}
			if err := m.(interface{ ValidateAll() error }).ValidateAll(); err != nil {
				t.Errorf("%s[%d]: %v", key, i, err)
			}
		}
	}
	check("clusters", msgs(r.Clusters), func() proto.Message { return &clusterv3.Cluster{} })
	check("endpoints", msgs(r.Endpoints), func() proto.Message { return &endpointv3.ClusterLoadAssignment{} })
	check("listeners", msgs(r.Listeners), func() proto.Message { return &listenerv3.Listener{} })
	check("routes", msgs(r.Routes), func() proto.Message { return &routev3.RouteConfiguration{} })
	check("extension_configs", msgs(r.Extensions), func() proto.Message { return &corev3.TypedExtensionConfig{} })
	if !strings.Contains(string(out), `"@type": "type.googleapis.com/xds.type.v3.TypedStruct"`) {
		t.Error("the extension config does not show its TypedStruct")
	}
}

// --- a served directory and a real client -------------------------------------

type served struct {
	s       *Server
	reg     *prometheus.Registry
	dir     string
	stopped chan error
	cancel  context.CancelFunc
}

func serveDir(t *testing.T, dir string, poll time.Duration) *served {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := New(Options{
		Listen: "127.0.0.1:0", Admin: "127.0.0.1:0", Dir: dir, Registry: reg, PollInterval: poll,
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sv := &served{s: s, reg: reg, dir: dir, stopped: make(chan error, 1), cancel: cancel}
	go func() { sv.stopped <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-sv.stopped; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return sv
}

type sidecar struct {
	c    *xds.Client
	mu   sync.Mutex
	last xds.Update
	n    int
	// hook runs inside Apply; an error NACKs.
	hook func(*config.Config) error
}

func (s *sidecar) get() (xds.Update, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, s.n
}

const base = "listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nmodel: credit-risk\n"

func startSidecar(t *testing.T, addr, id, cluster string) *sidecar {
	t.Helper()
	sc := &sidecar{}
	c, err := xds.New(xds.Options{
		Server: addr,
		Node:   &corev3.Node{Id: id, Cluster: cluster},
		Base:   []byte(base),
		Apply: func(u xds.Update) error {
			sc.mu.Lock()
			defer sc.mu.Unlock()
			if sc.hook != nil {
				if err := sc.hook(u.Config); err != nil {
					return err
				}
			}
			sc.last, sc.n = u, sc.n+1
			return nil
		},
		Logger:  zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
		Backoff: func(int) time.Duration { return 20 * time.Millisecond },
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: grpcbackoff.Config{BaseDelay: 10 * time.Millisecond, Multiplier: 1.2, MaxDelay: 50 * time.Millisecond},
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	sc.c = c
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return sc
}

func split(u xds.Update) string {
	if u.Config == nil {
		return ""
	}
	var parts []string
	for _, a := range u.Config.Routes[0].Split {
		parts = append(parts, fmt.Sprintf("%s=%d", a.Upstream, *a.Weight))
	}
	return strings.Join(parts, ",")
}

// A file served to a real sidecar becomes the same config the sidecar
// would parse from it, apart from listen and admin, which come from the
// sidecar's own file.
func TestRoundTrip(t *testing.T) {
	live, canary, shadow := testupstream.Start(t, okModel), testupstream.Start(t, okModel), testupstream.Start(t, okModel)
	file := fleetFile(live, canary, shadow, 90, 10)
	dir := t.TempDir()
	testutil.ReplaceFile(t, filepath.Join(dir, "sidecar-1.yaml"), file)
	sv := serveDir(t, dir, 0)
	sc := startSidecar(t, sv.s.Addr(), "sidecar-1", "ml")
	testutil.Eventually(t, 10*time.Second, "first config", func() bool { _, n := sc.get(); return n > 0 })

	want, err := config.Parse([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	want.Listen, want.Admin = "127.0.0.1:0", "127.0.0.1:0"
	got, _ := sc.get()
	if !bytes.Equal(got.Config.JSON(), want.JSON()) {
		t.Errorf("round trip differs:\ngot  %s\nwant %s", got.Config.JSON(), want.JSON())
	}
	r, _ := Translate([]byte(file))
	if got.Version != r.Version {
		t.Errorf("got version %q; want %q", got.Version, r.Version)
	}
}

// File changes reach the sidecar within a second; a node's own file wins
// over its cluster's; an invalid file is reported and its last valid
// content stays; removing the node's file falls back to the cluster's.
func TestFileChanges(t *testing.T) {
	for _, mode := range []struct {
		name string
		poll time.Duration
	}{{"fsnotify", 0}, {"polling", 100 * time.Millisecond}} {
		t.Run(mode.name, func(t *testing.T) {
			live, canary, shadow := testupstream.Start(t, okModel), testupstream.Start(t, okModel), testupstream.Start(t, okModel)
			dir := t.TempDir()
			clusterFile, nodeFile := filepath.Join(dir, "ml.yaml"), filepath.Join(dir, "sidecar-1.yml")
			testutil.ReplaceFile(t, clusterFile, fleetFile(live, canary, shadow, 90, 10))
			testutil.ReplaceFile(t, filepath.Join(dir, "README.txt"), "not a config")
			sv := serveDir(t, dir, mode.poll)
			sc := startSidecar(t, sv.s.Addr(), "sidecar-1", "ml")
			testutil.Eventually(t, 10*time.Second, "the cluster's file", func() bool { u, _ := sc.get(); return split(u) == "live=90,canary=10" })

			push := func(path, content, want string) {
				t.Helper()
				start := time.Now()
				testutil.ReplaceFile(t, path, content)
				testutil.Eventually(t, 5*time.Second, "push of "+want, func() bool { u, _ := sc.get(); return split(u) == want })
				if d := time.Since(start); d > time.Second {
					t.Errorf("the change took %v; want at most 1s", d)
				}
			}
			push(clusterFile, fleetFile(live, canary, shadow, 50, 50), "live=50,canary=50")
			push(nodeFile, fleetFile(live, canary, shadow, 30, 70), "live=30,canary=70")

			_, applies := sc.get()
			testutil.ReplaceFile(t, nodeFile, fleetFile(live, canary, shadow, 0, 0))
			testutil.Eventually(t, 5*time.Second, "the error reported", func() bool {
				return promtestutil.ToFloat64(sv.s.metrics.fileErrors) == 1
			})
			files := sv.s.Files()
			if len(files) != 2 || files[1].File != "sidecar-1.yml" || !strings.Contains(files[1].Error, "weights must sum to more than 0") || files[1].Version == "" {
				t.Errorf("got files %+v", files)
			}
			if got := promtestutil.ToFloat64(sv.s.metrics.fileValid.WithLabelValues("sidecar-1")); got != 0 {
				t.Errorf("file_valid = %v; want 0", got)
			}
			time.Sleep(300 * time.Millisecond)
			if u, n := sc.get(); n != applies || split(u) != "live=30,canary=70" {
				t.Errorf("an invalid file changed the sidecar: %s after %d applies", split(u), n)
			}
			push(nodeFile, fleetFile(live, canary, shadow, 20, 80), "live=20,canary=80")
			if err := os.Remove(nodeFile); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, 5*time.Second, "fallback to the cluster's file", func() bool { u, _ := sc.get(); return split(u) == "live=50,canary=50" })
		})
	}
}

// NACKs from sidecars are logged and counted; the admin server serves
// the metrics, health and the file states.
func TestNacksAndAdmin(t *testing.T) {
	live, canary, shadow := testupstream.Start(t, okModel), testupstream.Start(t, okModel), testupstream.Start(t, okModel)
	dir := t.TempDir()
	testutil.ReplaceFile(t, filepath.Join(dir, "sidecar-1.yaml"), fleetFile(live, canary, shadow, 90, 10))
	sv := serveDir(t, dir, 0)
	sc := startSidecar(t, sv.s.Addr(), "sidecar-1", "")
	testutil.Eventually(t, 10*time.Second, "first config", func() bool { _, n := sc.get(); return n > 0 })
	if got := promtestutil.ToFloat64(sv.s.metrics.nodes); got != 1 {
		t.Errorf("connected_nodes = %v; want 1", got)
	}
	sc.mu.Lock()
	sc.hook = func(*config.Config) error { return fmt.Errorf("model: cannot change without a restart") }
	sc.mu.Unlock()
	testutil.ReplaceFile(t, filepath.Join(dir, "sidecar-1.yaml"), fleetFile(live, canary, shadow, 60, 40))
	testutil.Eventually(t, 5*time.Second, "a NACK counted", func() bool {
		total := 0.0
		for _, l := range []string{"cds", "eds", "lds", "rds", "ecds"} {
			total += promtestutil.ToFloat64(sv.s.metrics.nacks.WithLabelValues(l))
		}
		return total > 0
	})

	get := func(path string) string {
		resp, err := http.Get("http://" + sv.s.AdminAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	if m := get("/metrics"); !strings.Contains(m, `driftcar_controlplane_nacks_total{type="`) || !strings.Contains(m, "driftcar_controlplane_snapshots_total 2") {
		t.Errorf("/metrics lacks the NACK counter:\n%s", m)
	}
	if got := get("/healthz"); got != "ok\n" {
		t.Errorf("/healthz = %q", got)
	}
	var files []FileStatus
	if err := json.Unmarshal([]byte(get("/api/files")), &files); err != nil || len(files) != 1 || files[0].File != "sidecar-1.yaml" {
		t.Errorf("/api/files = %+v, %v", files, err)
	}
	if problems, err := promtestutil.GatherAndLint(sv.reg); err != nil || len(problems) > 0 {
		t.Errorf("metric lint: %v %v", err, problems)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("got no error without Dir")
	}
	if _, err := New(Options{Dir: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("got no error for a missing directory")
	}
}
