package shadow

import (
	"context"
	"fmt"
	"maps"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
	"github.com/driftcar/driftcar/proxy"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testupstream.GoleakOptions...)
}

// env is a proxy with one route "predict" to live, mirrored by a Mirror.
type env struct {
	reg     *prometheus.Registry
	srv     *proxy.Server
	mirror  *Mirror
	ring    *Ring
	addr    string
	client  *fasthttp.HostClient
	answers *answerLog
}

// answerLog keeps the Answers it gets, by request id, as text.
type answerLog struct {
	mu  sync.Mutex
	got map[string]string
}

func (l *answerLog) ShadowAnswer(a *Answer) {
	preds := make([]string, len(a.Predictions))
	for i := range a.Predictions {
		preds[i] = a.Predictions[i].String()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.got == nil {
		l.got = map[string]string{}
	}
	l.got[string(a.RequestID)] = fmt.Sprintf("%s %d %s%s %v", a.Route, a.Status, a.Failure, a.Outcome, preds)
}

func (l *answerLog) snapshot() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.got)
}

func liveConfig(t testing.TB, live string) *config.Config {
	t.Helper()
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
	return cfg
}

// newEnv builds the proxy and mirror; with serve it also listens on
// loopback.
func newEnv(t testing.TB, live string, spec Spec, serve bool) *env {
	t.Helper()
	e := &env{reg: prometheus.NewRegistry(), ring: NewRing(16, 256, true)}
	if _, ok := t.(*testing.T); ok { // benchmarks measure the mirror alone
		e.answers = &answerLog{}
	}
	pm := proxy.NewMetrics(e.reg)
	spec.Route = "predict"
	var err error
	opts := Options{Metrics: NewMetrics(e.reg, pm.UpstreamDuration()), Ring: e.ring}
	if e.answers != nil {
		opts.Answers = e.answers
	}
	e.mirror, err = New(spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.mirror.Stop(); e.mirror.Wait() })
	e.srv, err = proxy.New(liveConfig(t, live), proxy.Options{Metrics: pm})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Apply(liveConfig(t, live), proxy.Taps{"predict": {Mirror: e.mirror}})
	if !serve {
		return e
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = e.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.srv.Shutdown(ctx)
		<-done
	})
	e.addr = ln.Addr().String()
	e.client = &fasthttp.HostClient{Addr: e.addr, MaxConns: 64}
	return e
}

func (e *env) post(t testing.TB, body string, header ...string) *fasthttp.Response {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod("POST")
	req.SetRequestURI("http://" + e.addr + "/v1/models/m:predict")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	req.SetBodyString(body)
	resp := &fasthttp.Response{}
	if err := e.client.Do(req, resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

// counter reads one series of a counter or gauge.
func (e *env) counter(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
		}
	}
	return 0
}

func (e *env) waitCounter(t testing.TB, want float64, name string, labels ...string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, fmt.Sprintf("%s%v reaches %v", name, labels, want), func() bool {
		return e.counter(t, name, labels...) >= want
	})
	if got := e.counter(t, name, labels...); got != want {
		t.Fatalf("%s%v: got %v; want %v", name, labels, got, want)
	}
}
