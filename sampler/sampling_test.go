package sampler

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
	"github.com/driftcar/driftcar/proxy"
	"github.com/driftcar/driftcar/sampler/sketch"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testupstream.GoleakOptions...)
}

const request = `{"instances":[{"age":41,"income":52000.5,"country":"DE"}]}`

var features = []payload.FeatureSpec{
	{Name: "age", Type: payload.Numeric},
	{Name: "income", Type: payload.Numeric},
	{Name: "country", Type: payload.Categorical},
}

func model(t testing.TB) Model {
	t.Helper()
	var csv strings.Builder
	csv.WriteString("age,income,country\n")
	for i := range 500 {
		fmt.Fprintf(&csv, "%d,%d,%s\n", 20+i%60, 1000+i*97, []string{"DE", "FR", "US"}[i%3])
	}
	p, err := sketch.BuildReference(strings.NewReader(csv.String()), sketch.CSV, features, sketch.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ref.json")
	if err := p.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return Model{Features: features, ReferenceFile: path}
}

// sampledProxy is a proxy.Server for one route to a live stub, sampled by
// a Set with spec; the Set is stopped when the test ends.
func sampledProxy(t testing.TB, spec RouteSpec) (*proxy.Server, *Set) {
	t.Helper()
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.5]}`))
	cfg, err := config.Parse(fmt.Appendf(nil, `
upstreams:
  live: { address: %s }
routes:
  - name: predict
    split: [{ upstream: live, weight: 1 }]
`, live))
	if err != nil {
		t.Fatal(err)
	}
	spec.Route, spec.Protocol = "predict", payload.KServeV1
	set, err := NewSet(model(t), []RouteSpec{spec}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Stop)
	srv, err := proxy.New(cfg, proxy.Options{Metrics: proxy.NewMetrics(prometheus.NewRegistry())})
	if err != nil {
		t.Fatal(err)
	}
	srv.Apply(cfg, proxy.Taps{"predict": {Sampler: set.Tap("predict")}})
	return srv, set
}

func TestTapCountsRowsDropsAndInvalid(t *testing.T) {
	srv, set := sampledProxy(t, RouteSpec{Fraction: 1, Queue: 8, MaxBody: 200, Workers: 1})
	tap := set.Tap("predict")
	h := testupstream.NewHarness(srv.Handler(), "/v1/models/m:predict", request)
	for range 50 {
		h.ServeOK(t)
	}
	testutil.Eventually(t, 10*time.Second, "every queued copy is decoded", func() bool {
		return tap.QueueLength() == 0 && tap.counts.rows.Load()+tap.counts.dropped[dropQueueFull].Load() >= 50
	})
	// With the queue empty, neither of these can be dropped as queue_full.
	h.Template.SetBodyString(`{"instances":[` + strings.Repeat(`{"age":1},`, 30) + `{"age":1}]}`)
	h.ServeOK(t)
	h.Template.SetBodyString(`{"instances":[{"age":"x"`)
	h.ServeOK(t)
	rows, full, large := tap.counts.rows.Load(), tap.counts.dropped[dropQueueFull].Load(), tap.counts.dropped[dropBodyTooLarge].Load()
	if rows+full != 50 || large != 1 {
		t.Errorf("rows %d + dropped queue_full %d = %d; want 50; body_too_large %d, want 1", rows, full, rows+full, large)
	}
	testutil.Eventually(t, 10*time.Second, "the malformed body is counted", func() bool {
		return tap.counts.invalid.Load()[payload.ReasonMalformedJSON] == 1
	})
	st := tap.State()
	w := st.Window(0, 1)
	if w.N != rows {
		t.Errorf("age window: got n=%d; want %d (one row per decoded request)", w.N, rows)
	}
}

func TestFractionSamplesAShare(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	var mu sync.Mutex
	draw := func() uint64 { mu.Lock(); defer mu.Unlock(); return rng.Uint64() }
	srv, set := sampledProxy(t, RouteSpec{Fraction: 0.2, Queue: 100_000, MaxBody: 1 << 20, Workers: 1, Rand: draw})
	h := testupstream.NewHarness(srv.Handler(), "/v1/models/m:predict", request)
	const n = 20000
	for range n {
		h.ServeOK(t)
	}
	tap := set.Tap("predict")
	testutil.Eventually(t, 10*time.Second, "the queue drains", func() bool { return tap.QueueLength() == 0 })
	got := float64(tap.counts.rows.Load()) / n
	if got < 0.18 || got > 0.22 {
		t.Errorf("sampled share: got %.4f; want 0.2 ± 0.02 (about 7σ)", got)
	}
}
