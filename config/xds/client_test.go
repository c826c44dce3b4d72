package xds

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
	"github.com/driftcar/driftcar/proxy"
)

func okModel(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"predictions":[0.5]}`)
}

func upstreams(t *testing.T, names ...string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, n := range names {
		m[n] = testupstream.Start(t, okModel)
	}
	return m
}

// acked waits until the server saw an ACK at version for every type in
// types and returns the requests.
func waitAcked(t *testing.T, c *cp, version string, typeURLs ...string) {
	t.Helper()
	waitFor(t, "ACKs at version "+version, func() bool {
		for _, u := range typeURLs {
			if ackFor(c.wire, u, version) == nil {
				return false
			}
		}
		return true
	})
}

// ackFor returns the ACK of the last response of typeURL at version.
func ackFor(w *wire, typeURL, version string) *discoveryv3.DiscoveryRequest {
	var nonce string
	for _, r := range w.responses() {
		if r.resp.GetTypeUrl() == typeURL && r.resp.GetVersionInfo() == version {
			nonce = r.resp.GetNonce()
		}
	}
	if nonce == "" {
		return nil
	}
	for _, r := range w.requests() {
		if r.req.GetTypeUrl() == typeURL && r.req.GetResponseNonce() == nonce && r.req.GetErrorDetail() == nil && r.req.GetVersionInfo() == version {
			return r.req
		}
	}
	return nil
}

func nacks(w *wire, typeURL string) []*discoveryv3.DiscoveryRequest {
	var out []*discoveryv3.DiscoveryRequest
	for _, r := range w.requests() {
		if r.req.GetTypeUrl() == typeURL && r.req.GetErrorDetail() != nil {
			out = append(out, r.req)
		}
	}
	return out
}

func firstResponse(w *wire, typeURL, version string) *discoveryv3.DiscoveryResponse {
	for _, r := range w.responses() {
		if r.resp.GetTypeUrl() == typeURL && r.resp.GetVersionInfo() == version {
			return r.resp
		}
	}
	return nil
}

func lastResponse(w *wire, typeURL, version string) *discoveryv3.DiscoveryResponse {
	var out *discoveryv3.DiscoveryResponse
	for _, r := range w.responses() {
		if r.resp.GetTypeUrl() == typeURL && r.resp.GetVersionInfo() == version {
			out = r.resp
		}
	}
	return out
}

var allTypes = []string{ClusterType, EndpointType, ListenerType, RouteType, ExtensionConfigType}

func synced(h *harness) func() bool {
	return func() bool {
		select {
		case <-h.c.Synced():
			return true
		default:
			return false
		}
	}
}

// Initial sync: every type is applied at version 1 in one config, each
// response is ACKed once with its version and nonce, and the node is sent
// on the first request only.
func TestInitialSyncAndAck(t *testing.T) {
	ups := upstreams(t, "primary", "canary")
	c := startCP(t, "127.0.0.1:0")
	c.set(t, defaultFleet("1", ups).snapshot(t))
	h := startClient(t, c.addr, nil)
	waitFor(t, "first config", synced(h))
	waitAcked(t, c, "1", allTypes...)

	u, n := h.app.last()
	if n != 1 {
		t.Errorf("got %d applies; want 1", n)
	}
	cfg := u.Config
	if u.Version != "1" {
		t.Errorf("got version %q; want 1", u.Version)
	}
	if got, want := weights(cfg), []string{"primary=90", "canary=10"}; !slices.Equal(got, want) {
		t.Errorf("got arms %v; want %v", got, want)
	}
	if cfg.Listen != "127.0.0.1:0" || cfg.Model != "m" {
		t.Errorf("base lost: listen %q model %q", cfg.Listen, cfg.Model)
	}
	if !cfg.Routes[0].ArmOverride || cfg.ShadowSamples.Keep != 7 {
		t.Errorf("ECDS not applied: arm_override %v keep %d", cfg.Routes[0].ArmOverride, cfg.ShadowSamples.Keep)
	}
	if got := cfg.Upstreams["canary"]; got.Address != ups["canary"] || time.Duration(got.ConnectTimeout) != 750*time.Millisecond {
		t.Errorf("got canary upstream %+v; want address %s, connect_timeout 750ms", got, ups["canary"])
	}
	if got := cfg.Routes[0].Fallback; got != "primary" {
		t.Errorf("got fallback %q; want the first weighted cluster, primary", got)
	}

	reqs := c.wire.requests()
	for i, r := range reqs {
		if hasNode := r.req.GetNode() != nil; hasNode != (i == 0) {
			t.Errorf("request %d (%s): node set = %v; want it on the first request only", i, r.req.GetTypeUrl(), hasNode)
		}
		if r.req.GetErrorDetail() != nil {
			t.Errorf("unexpected NACK: %v", r.req)
		}
	}
	if got := reqs[0].req.GetNode().GetId(); got != nodeID {
		t.Errorf("got node id %q; want %q", got, nodeID)
	}
	// Types whose subscription never changes get exactly one request
	// carrying the nonce of their response: the ACK.
	for _, u := range []string{ClusterType, ListenerType, ExtensionConfigType} {
		nonce := lastResponse(c.wire, u, "1").GetNonce()
		count := 0
		for _, r := range reqs {
			if r.req.GetTypeUrl() == u && r.req.GetResponseNonce() == nonce {
				count++
			}
		}
		if count != 1 {
			t.Errorf("%s: got %d requests with the response nonce; want 1 ACK", u, count)
		}
	}
	// Listeners name the route configuration, so RDS moves from the
	// wildcard to that name; EDS asks for the EDS clusters' names.
	var rdsNames, edsNames []string
	for _, r := range reqs {
		switch r.req.GetTypeUrl() {
		case RouteType:
			rdsNames = r.req.GetResourceNames()
		case EndpointType:
			edsNames = r.req.GetResourceNames()
		}
	}
	if !slices.Equal(rdsNames, []string{"ingress"}) || !slices.Equal(edsNames, []string{"canary", "primary"}) {
		t.Errorf("got subscriptions rds %v eds %v; want [ingress] and [canary primary]", rdsNames, edsNames)
	}

	st := h.c.Status()
	if !st.Connected || !st.Synced || st.Version != "1" {
		t.Errorf("got status %+v", st)
	}
	for _, typ := range []string{"cds", "eds", "lds", "rds", "ecds"} {
		if got := metricValue(t, h.reg, "driftcar_xds_updates_total", map[string]string{"type": typ, "result": "ack"}); got != 1 {
			t.Errorf("updates_total{type=%s,result=ack} = %v; want 1", typ, got)
		}
	}
	if got := metricValue(t, h.reg, "driftcar_xds_connected", nil); got != 1 {
		t.Errorf("driftcar_xds_connected = %v; want 1", got)
	}
	if problems, err := promtestutil.GatherAndLint(h.reg); err != nil || len(problems) > 0 {
		t.Errorf("metric lint: %v %v", err, problems)
	}
}

// metricValue reads one series back through the registry.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue series
				}
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

// Version progression: a new weight is applied at the new version; the
// other types are ACKed at it without a second apply.
func TestVersionProgression(t *testing.T) {
	ups := upstreams(t, "primary", "canary")
	c := startCP(t, "127.0.0.1:0")
	c.set(t, defaultFleet("v-2026-a", ups).snapshot(t))
	h := startClient(t, c.addr, nil)
	waitFor(t, "first config", synced(h))

	f := defaultFleet("v-2026-b", ups)
	f.arms = []armSpec{{"primary", 50}, {"canary", 50}}
	c.set(t, f.snapshot(t))
	waitAcked(t, c, "v-2026-b", allTypes...)
	u, n := h.app.last()
	if got, want := weights(u.Config), []string{"primary=50", "canary=50"}; !slices.Equal(got, want) || u.Version != "v-2026-b" {
		t.Errorf("got arms %v at %q; want %v at v-2026-b", got, u.Version, want)
	}
	if n != 2 {
		t.Errorf("got %d applies; want 2 (unchanged types must not re-apply)", n)
	}
	if st := h.c.Status(); st.Version != "v-2026-b" || typeStatus(st, "cds").Version != "v-2026-b" {
		t.Errorf("got status %+v", st)
	}
	// A version bump with identical resources is ACKed, and not applied.
	f.version = "v-2026-c"
	c.set(t, f.snapshot(t))
	waitAcked(t, c, "v-2026-c", allTypes...)
	if _, n := h.app.last(); n != 2 {
		t.Errorf("got %d applies after a no-op version; want 2", n)
	}
}

// A NACK keeps the last good config: the rejected type is NACKed with the
// previous version, the new nonce and a message naming the resource; the
// other types of the same version are ACKed and applied.
func TestNackKeepsLastGood(t *testing.T) {
	ups := upstreams(t, "primary", "canary")
	cases := []struct {
		name     string
		mutate   func(*fleet)
		typeURL  string
		wantMsgs []string
		// others are the types ACKed at v3.
		others []string
	}{{
		name: "invalid ECDS",
		mutate: func(f *fleet) {
			f.arms = []armSpec{{"primary", 70}, {"canary", 30}}
			f.ext["mirror_percent"] = 150.0
		},
		typeURL:  ExtensionConfigType,
		wantMsgs: []string{`TypedExtensionConfig "driftcar"`, "mirror_percent", "unknown field"},
		others:   []string{ClusterType, EndpointType, ListenerType, RouteType},
	}, {
		name: "invalid drift section",
		mutate: func(f *fleet) {
			f.ext["drift"] = map[string]any{"correction": "sidak"}
		},
		typeURL:  ExtensionConfigType,
		wantMsgs: []string{`TypedExtensionConfig "driftcar"`, "drift.correction"},
		others:   []string{ClusterType, EndpointType, ListenerType, RouteType},
	}, {
		name:     "weights sum to zero",
		mutate:   func(f *fleet) { f.arms = []armSpec{{"primary", 0}, {"canary", 0}} },
		typeURL:  RouteType,
		wantMsgs: []string{`RouteConfiguration "ingress"`, "predict", "weights must sum to more than 0"},
		others:   []string{ClusterType, EndpointType, ListenerType, ExtensionConfigType},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := startCP(t, "127.0.0.1:0")
			c.set(t, defaultFleet("1", ups).snapshot(t))
			clock := newFakeClock()
			h := startClient(t, c.addr, func(o *Options) {
				o.Clock = clock
				o.NackDelay = defaultNackDelay
			})
			waitFor(t, "first config", synced(h))
			f := defaultFleet("2", ups)
			f.arms = []armSpec{{"primary", 50}, {"canary", 50}}
			c.set(t, f.snapshot(t))
			waitAcked(t, c, "2", allTypes...)
			good, _ := h.app.last()

			f = defaultFleet("3", ups)
			tc.mutate(&f)
			c.set(t, f.snapshot(t))
			waitFor(t, "a NACK", func() bool { return len(nacks(c.wire, tc.typeURL)) > 0 })
			waitAcked(t, c, "3", tc.others...)

			nk := nacks(c.wire, tc.typeURL)[0]
			if got, want := nk.GetResponseNonce(), firstResponse(c.wire, tc.typeURL, "3").GetNonce(); got != want {
				t.Errorf("NACK nonce %q; want the v3 response's %q", got, want)
			}
			if nk.GetVersionInfo() != "2" {
				t.Errorf("NACK version_info %q; want the previous good 2", nk.GetVersionInfo())
			}
			msg := nk.GetErrorDetail().GetMessage()
			for _, w := range tc.wantMsgs {
				if !strings.Contains(msg, w) {
					t.Errorf("error_detail %q does not mention %q", msg, w)
				}
			}
			if strings.Contains(msg, "(line ") {
				t.Errorf("error_detail %q has line numbers of an internal document", msg)
			}
			if nk.GetErrorDetail().GetCode() != 3 {
				t.Errorf("error_detail code %d; want INVALID_ARGUMENT (3)", nk.GetErrorDetail().GetCode())
			}
			// The rejected type keeps its v2 state.
			u, _ := h.app.last()
			if tc.typeURL == RouteType {
				if got := weights(u.Config); !slices.Equal(got, weights(good.Config)) {
					t.Errorf("got arms %v; want the last good %v", got, weights(good.Config))
				}
			} else {
				if got := weights(u.Config); !slices.Equal(got, []string{"primary=70", "canary=30"}) && tc.name == "invalid ECDS" {
					t.Errorf("got arms %v; want the v3 route applied (70/30)", got)
				}
				if u.Config.ShadowSamples.Keep != 7 {
					t.Errorf("got keep %d; want the last good ECDS (7)", u.Config.ShadowSamples.Keep)
				}
			}
			st := h.c.Status()
			short := map[string]string{ExtensionConfigType: "ecds", RouteType: "rds"}[tc.typeURL]
			if ts := typeStatus(st, short); ts.Version != "2" || ts.LastNack == "" {
				t.Errorf("got %s status %+v; want version 2 and the NACK", short, ts)
			}
			// While v3 stays, the server re-sends it and the repeat NACK
			// waits on the clock, which does not move.
			waitFor(t, "the repeat NACK parked on the clock", func() bool { return clock.pending(100*time.Millisecond) == 1 })
			if got := len(nacks(c.wire, tc.typeURL)); got != 1 {
				t.Errorf("got %d NACKs while the clock stood; want 1", got)
			}
		})
	}
}

// A NACK loop is bounded, and a fixed version recovers it: with a manual
// clock, repeats of the same rejected version wait for the clock; the fix
// is ACKed and applied; and the next bad version is NACKed at once again.
func TestNackLoopBoundedAndRecovery(t *testing.T) {
	ups := upstreams(t, "primary", "canary")
	clock := newFakeClock()
	c := startCP(t, "127.0.0.1:0")
	c.set(t, defaultFleet("2", ups).snapshot(t))
	h := startClient(t, c.addr, func(o *Options) {
		o.Clock = clock
		o.NackDelay = defaultNackDelay
	})
	waitFor(t, "first config", synced(h))
	waitAcked(t, c, "2", allTypes...)

	bad := defaultFleet("3", ups)
	bad.ext["mirror_percent"] = 150.0
	c.set(t, bad.snapshot(t))
	waitFor(t, "the first NACK", func() bool { return len(nacks(c.wire, ExtensionConfigType)) == 1 })
	// The server re-sends v3 at once; the repeat NACK waits 100ms on the
	// clock, which does not move: the loop is stopped.
	waitFor(t, "the re-sent v3", func() bool { return clock.pending(100*time.Millisecond) == 1 })
	// Only the clock can send the repeat, so no wait is needed to see it
	// held back.
	if got := len(nacks(c.wire, ExtensionConfigType)); got != 1 {
		t.Fatalf("got %d NACKs while the clock stood; want 1", got)
	}
	clock.advance(100 * time.Millisecond)
	waitFor(t, "the second NACK", func() bool { return len(nacks(c.wire, ExtensionConfigType)) == 2 })
	waitFor(t, "the next delay", func() bool { return clock.pending(200*time.Millisecond) == 1 })

	// The fix: while a NACK waits, the server holds no ECDS watch, so v4
	// arrives once the delayed NACK is sent.
	fixed := defaultFleet("4", ups)
	fixed.ext["shadow_samples"] = map[string]any{"keep": 9}
	c.set(t, fixed.snapshot(t))
	clock.advance(200 * time.Millisecond)
	waitAcked(t, c, "4", allTypes...)
	waitFor(t, "v4 applied", func() bool { u, _ := h.app.last(); return u.Config.ShadowSamples.Keep == 9 })
	if u, _ := h.app.last(); u.Version != "4" {
		t.Errorf("got version %q; want 4", u.Version)
	}
	// Status is published right after the ACK is queued.
	waitFor(t, "ecds status at 4 without a NACK", func() bool {
		ts := typeStatus(h.c.Status(), "ecds")
		return ts.LastNack == "" && ts.Version == "4"
	})

	// The throttle was reset: v5's first NACK goes out without the clock.
	n := len(nacks(c.wire, ExtensionConfigType))
	bad.version = "5"
	c.set(t, bad.snapshot(t))
	waitFor(t, "an immediate NACK of v5", func() bool {
		nk := nacks(c.wire, ExtensionConfigType)
		return len(nk) == n+1 && nk[n].GetVersionInfo() == "4"
	})
}

// After the control plane restarts on the same port with a fresh cache,
// the client re-subscribes with the last ACKed versions and no nonce,
// keeps serving its config during the outage, and accepts the new
// server's version whether it is lower or the same.
func TestReconnectAfterRestart(t *testing.T) {
	ups := upstreams(t, "primary", "canary")
	for _, tc := range []struct {
		name, version string
		arms          []armSpec
		wantApplies   int
	}{
		{"lower version", "1", []armSpec{{"primary", 60}, {"canary", 40}}, 3},
		{"same version", "4", []armSpec{{"primary", 80}, {"canary", 20}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCP(t, "127.0.0.1:0")
			c.set(t, defaultFleet("1", ups).snapshot(t))
			h := startClient(t, c.addr, nil)
			waitFor(t, "first config", synced(h))
			f := defaultFleet("4", ups)
			f.arms = []armSpec{{"primary", 80}, {"canary", 20}}
			c.set(t, f.snapshot(t))
			waitAcked(t, c, "4", allTypes...)
			before, n := h.app.last()

			addr := c.addr
			c.stop()
			waitFor(t, "disconnect", func() bool { return !h.c.Status().Connected })
			if u, m := h.app.last(); m != n || u.Config != before.Config {
				t.Fatal("config changed during the outage")
			}

			c2 := startCP(t, addr)
			f2 := defaultFleet(tc.version, ups)
			f2.arms = tc.arms
			c2.set(t, f2.snapshot(t))
			waitAcked(t, c2, tc.version, allTypes...)

			reqs := c2.wire.requests()
			if reqs[0].req.GetNode().GetId() != nodeID {
				t.Errorf("first request on the new stream has node %v", reqs[0].req.GetNode())
			}
			firstOf := map[string]*discoveryv3.DiscoveryRequest{}
			for i, r := range reqs {
				if i > 0 && r.req.GetNode() != nil {
					t.Errorf("request %d carries the node again", i)
				}
				if _, seen := firstOf[r.req.GetTypeUrl()]; !seen {
					firstOf[r.req.GetTypeUrl()] = r.req
				}
			}
			for _, u := range allTypes {
				r := firstOf[u]
				if r.GetVersionInfo() != "4" || r.GetResponseNonce() != "" {
					t.Errorf("%s: first request on the new stream has version %q nonce %q; want 4 and none", u, r.GetVersionInfo(), r.GetResponseNonce())
				}
			}
			u, m := h.app.last()
			if m != tc.wantApplies {
				t.Errorf("got %d applies; want %d", m, tc.wantApplies)
			}
			if got, want := weights(u.Config), weights(&config.Config{Routes: []config.Route{{Split: armsOf(tc.arms)}}}); !slices.Equal(got, want) {
				t.Errorf("got arms %v; want %v", got, want)
			}
		})
	}
}

func armsOf(specs []armSpec) []config.Arm {
	out := make([]config.Arm, len(specs))
	for i, s := range specs {
		w := int(s.weight)
		out[i] = config.Arm{Upstream: s.cluster, Weight: &w}
	}
	return out
}

// Backoff grows while the server is down and starts over once a stream
// received a response.
func TestBackoff(t *testing.T) {
	ups := upstreams(t, "primary", "canary")
	addr := testutil.FreePort(t)
	var mu sync.Mutex
	var attempts []int
	h := startClient(t, addr, func(o *Options) {
		o.Backoff = func(n int) time.Duration {
			mu.Lock()
			attempts = append(attempts, n)
			mu.Unlock()
			return 5 * time.Millisecond
		}
	})
	got := func() []int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(attempts)
	}
	waitFor(t, "four failed attempts", func() bool { return len(got()) >= 4 })
	for i, n := range got() {
		if n != i {
			t.Fatalf("got attempts %v; want 0, 1, 2, ...", got())
		}
	}
	c := startCP(t, addr)
	c.set(t, defaultFleet("1", ups).snapshot(t))
	waitFor(t, "first config", synced(h))
	k := len(got())
	c.stop()
	waitFor(t, "a retry after the outage", func() bool { return len(got()) > k })
	if a := got()[k]; a != 0 {
		t.Errorf("after a stream with responses, got backoff attempt %d; want 0", a)
	}
}

func TestDefaultBackoff(t *testing.T) {
	want := time.Second
	for n := range 20 {
		for range 20 {
			d := DefaultBackoff(n)
			lo, hi := time.Duration(float64(want)*0.8), time.Duration(float64(want)*1.2)
			if d < lo || d > hi {
				t.Fatalf("DefaultBackoff(%d) = %v; want within [%v, %v]", n, d, lo, hi)
			}
		}
		want = min(time.Duration(float64(want)*1.6), 30*time.Second)
	}
}

// Removal: a cluster dropped from the full-state CDS response goes, its
// ClusterLoadAssignment is dropped with it (parent GC, even while the
// server does not re-send EDS), and a CDS response with no cluster
// deletes every upstream.
func TestRemoval(t *testing.T) {
	ups := upstreams(t, "primary", "canary")
	c := startCP(t, "127.0.0.1:0")
	c.set(t, defaultFleet("1", ups).snapshot(t))
	h := startClient(t, c.addr, nil)
	waitFor(t, "first config", synced(h))

	// v6 drops the canary cluster and route reference but keeps its CLA,
	// which the server still sends on the EDS watch the client opened
	// for both names: the client must drop it because no cluster needs
	// it, not because it vanished from EDS.
	f := defaultFleet("6", map[string]string{"primary": ups["primary"]})
	f.arms = []armSpec{{"primary", 100}}
	res := f.resources(t)
	res[EndpointType] = append(res[EndpointType], makeCLA("canary", ups["canary"]))
	s, err := cache.NewSnapshot("6", res)
	if err != nil {
		t.Fatal(err)
	}
	c.setUnchecked(t, s)
	waitAcked(t, c, "6", ClusterType, RouteType)
	waitFor(t, "canary gone", func() bool {
		u, _ := h.app.last()
		_, has := u.Config.Upstreams["canary"]
		return !has && slices.Equal(weights(u.Config), []string{"primary=100"})
	})
	st := h.c.Status()
	if got := typeStatus(st, "cds").Resources; !slices.Equal(got, []string{"primary"}) {
		t.Errorf("got clusters %v; want [primary]", got)
	}
	if got := typeStatus(st, "eds").Resources; !slices.Equal(got, []string{"primary"}) {
		t.Errorf("got endpoints %v; want [primary]", got)
	}
	if r := firstResponse(c.wire, EndpointType, "6"); r != nil && len(r.GetResources()) != 2 {
		t.Errorf("EDS v6 carried %d resources; the test wants the canary CLA still sent", len(r.GetResources()))
	}

	// v7 has no cluster at all.
	f = defaultFleet("7", nil)
	f.arms = []armSpec{{"primary", 100}}
	c.set(t, f.snapshot(t))
	waitAcked(t, c, "7", ClusterType)
	waitFor(t, "no upstream", func() bool { u, _ := h.app.last(); return len(u.Config.Upstreams) == 0 })
	st = h.c.Status()
	if got := typeStatus(st, "cds").Resources; len(got) != 0 {
		t.Errorf("got clusters %v; want none", got)
	}
	if got := typeStatus(st, "eds").Resources; len(got) != 0 {
		t.Errorf("got endpoints %v; want none", got)
	}
	if len(nacks(c.wire, ClusterType))+len(nacks(c.wire, RouteType)) > 0 {
		t.Error("a removal was NACKed")
	}
}

// The not-found timer: the ECDS resource the server lacks counts as not
// existing after the timeout, the first config is applied without it, and
// it is applied when it appears.
func TestNotFoundTimer(t *testing.T) {
	ups := upstreams(t, "primary", "canary")
	clock := newFakeClock()
	c := startCP(t, "127.0.0.1:0")
	f := defaultFleet("1", ups)
	f.ext = nil
	c.set(t, f.snapshot(t))
	h := startClient(t, c.addr, func(o *Options) { o.Clock = clock })
	// The snapshot has no ECDS type, so the server never answers it.
	waitAcked(t, c, "1", ClusterType, EndpointType, ListenerType, RouteType)
	waitFor(t, "only the ECDS timer left", func() bool { return clock.pending(DefaultResourceTimeout) == 1 })
	if _, n := h.app.last(); n != 0 {
		t.Fatal("applied before the ECDS resource was resolved")
	}
	clock.advance(DefaultResourceTimeout)
	waitFor(t, "first config", synced(h))
	u, _ := h.app.last()
	if u.Config.ShadowSamples.Keep != 100 || u.Config.Routes[0].ArmOverride {
		t.Errorf("got keep %d arm_override %v; want the defaults without ECDS", u.Config.ShadowSamples.Keep, u.Config.Routes[0].ArmOverride)
	}
	if got := typeStatus(h.c.Status(), "ecds").Missing; !slices.Equal(got, []string{ExtensionName}) {
		t.Errorf("got missing %v; want [driftcar]", got)
	}

	c.set(t, defaultFleet("2", ups).snapshot(t))
	// Status is current once the ACK is out.
	waitAcked(t, c, "2", ExtensionConfigType)
	if u, _ := h.app.last(); u.Config.ShadowSamples.Keep != 7 {
		t.Errorf("got keep %d; want the ECDS value 7", u.Config.ShadowSamples.Keep)
	}
	if got := typeStatus(h.c.Status(), "ecds").Missing; len(got) != 0 {
		t.Errorf("got missing %v after arrival; want none", got)
	}
}

// Protocol hygiene: duplicate names and an Any whose type differs from
// the response's are NACKed; a response of a type never subscribed gets
// neither ACK nor NACK.
func TestProtocolHygiene(t *testing.T) {
	ups := upstreams(t, "primary", "canary")
	oneShot := func(typeURL string, build func() *discoveryv3.DiscoveryResponse) func(*cache.Request) *discoveryv3.DiscoveryResponse {
		var once sync.Once
		return func(req *cache.Request) *discoveryv3.DiscoveryResponse {
			var resp *discoveryv3.DiscoveryResponse
			if req.GetTypeUrl() == typeURL {
				once.Do(func() { resp = build() })
			}
			return resp
		}
	}
	t.Run("duplicate names", func(t *testing.T) {
		c := startCP(t, "127.0.0.1:0")
		c.cache.setHook(oneShot(ClusterType, func() *discoveryv3.DiscoveryResponse {
			a := mustAny(t, makeCluster("primary"))
			return &discoveryv3.DiscoveryResponse{VersionInfo: "dup", TypeUrl: ClusterType, Resources: []*anypbAny{a, a}}
		}))
		c.set(t, defaultFleet("1", ups).snapshot(t))
		h := startClient(t, c.addr, nil)
		waitFor(t, "a NACK", func() bool { return len(nacks(c.wire, ClusterType)) == 1 })
		nk := nacks(c.wire, ClusterType)[0]
		if msg := nk.GetErrorDetail().GetMessage(); !strings.Contains(msg, `Cluster "primary": duplicate name`) {
			t.Errorf("got error_detail %q", msg)
		}
		if nk.GetVersionInfo() != "" || nk.GetResponseNonce() != firstResponse(c.wire, ClusterType, "dup").GetNonce() {
			t.Errorf("got NACK version %q nonce %q", nk.GetVersionInfo(), nk.GetResponseNonce())
		}
		waitFor(t, "first config", synced(h))
	})
	t.Run("type URL mismatch", func(t *testing.T) {
		c := startCP(t, "127.0.0.1:0")
		c.cache.setHook(oneShot(ExtensionConfigType, func() *discoveryv3.DiscoveryResponse {
			return &discoveryv3.DiscoveryResponse{VersionInfo: "odd", TypeUrl: ExtensionConfigType,
				Resources: []*anypbAny{mustAny(t, makeCluster("driftcar"))}}
		}))
		c.set(t, defaultFleet("1", ups).snapshot(t))
		h := startClient(t, c.addr, nil)
		waitFor(t, "a NACK", func() bool { return len(nacks(c.wire, ExtensionConfigType)) == 1 })
		msg := nacks(c.wire, ExtensionConfigType)[0].GetErrorDetail().GetMessage()
		if !strings.Contains(msg, `has type "`+ClusterType+`", want "`+ExtensionConfigType+`"`) {
			t.Errorf("got error_detail %q", msg)
		}
		waitFor(t, "first config", synced(h))
	})
	t.Run("unsubscribed type", func(t *testing.T) {
		const vhdsType = "type.googleapis.com/envoy.config.route.v3.VirtualHost"
		c := startCP(t, "127.0.0.1:0")
		c.cache.setHook(oneShot(ListenerType, func() *discoveryv3.DiscoveryResponse {
			return &discoveryv3.DiscoveryResponse{VersionInfo: "x", TypeUrl: vhdsType}
		}))
		c.set(t, defaultFleet("1", ups).snapshot(t))
		// The hook swallows the LDS answer, so LDS resolves by its
		// timer; routes come from the RDS wildcard meanwhile.
		h := startClient(t, c.addr, func(o *Options) { o.ResourceTimeout = 200 * time.Millisecond })
		waitFor(t, "first config", synced(h))
		nonce := lastResponse(c.wire, vhdsType, "x").GetNonce()
		if nonce == "" {
			t.Fatal("the server did not send the VirtualHost response")
		}
		for _, r := range c.wire.requests() {
			if r.req.GetResponseNonce() == nonce || r.req.GetTypeUrl() == vhdsType {
				t.Errorf("request %v answers the unsubscribed response", r.req)
			}
		}
		if got := typeStatus(h.c.Status(), "lds").Missing; !slices.Equal(got, []string{"*"}) {
			t.Errorf("got lds missing %v; want [*]", got)
		}
	})
}

// anypbAny keeps the test's composite literals short.
type anypbAny = anypb.Any

// Ordering tolerance: a route naming a cluster the client has not seen
// is ACKed, its arm answers 503 until the cluster arrives, then 200.
func TestClusterArrivesLate(t *testing.T) {
	ups := upstreams(t, "primary", "canary")
	var mu sync.Mutex
	var srv *proxy.Server
	c := startCP(t, "127.0.0.1:0")
	f := defaultFleet("1", map[string]string{"primary": ups["primary"]})
	f.arms = []armSpec{{"primary", 50}, {"canary", 50}}
	// Without fallback, a request to the canary arm shows the 503 itself
	// rather than the baseline's answer.
	f.ext["routes"] = []any{map[string]any{"name": "predict", "arm_override": true, "fallback": "none"}}
	c.set(t, f.snapshot(t))
	h := startClient(t, c.addr, nil)
	h.app.mu.Lock()
	h.app.then = func(cfg *config.Config) {
		mu.Lock()
		defer mu.Unlock()
		if srv == nil {
			var err error
			if srv, err = proxy.New(cfg, proxy.Options{Metrics: proxy.NewMetrics(prometheus.NewRegistry())}); err != nil {
				t.Error(err)
			}
			return
		}
		srv.Apply(cfg, nil)
	}
	h.app.mu.Unlock()
	waitFor(t, "first config", synced(h))
	waitAcked(t, c, "1", allTypes...)
	if n := len(nacks(c.wire, RouteType)); n > 0 {
		t.Fatalf("a route naming an unknown cluster was NACKed")
	}
	u, _ := h.app.last()
	if _, has := u.Config.Upstreams["canary"]; has || !slices.Equal(weights(u.Config), []string{"primary=50", "canary=50"}) {
		t.Fatalf("got upstreams %v arms %v", u.Config.Upstreams, weights(u.Config))
	}
	if st := h.c.Status(); len(st.Notes) == 0 || !strings.Contains(strings.Join(st.Notes, "\n"), `cluster "canary" not known`) {
		t.Errorf("got notes %q", st.Notes)
	}
	call := func(arm string) *fasthttp.Response {
		mu.Lock()
		handler := srv.Handler()
		mu.Unlock()
		hs := testupstream.NewHarness(handler, "/v1/models/m:predict", `{"instances":[[1]]}`)
		hs.Template.Header.Set(config.ArmOverrideHeader, arm)
		resp := hs.Serve()
		out := &fasthttp.Response{}
		resp.CopyTo(out)
		return out
	}
	if r := call("canary"); r.StatusCode() != 503 || !strings.Contains(string(r.Body()), "upstream not available") {
		t.Errorf("canary before its cluster: %d %s; want 503 upstream not available", r.StatusCode(), r.Body())
	}
	if r := call("primary"); r.StatusCode() != 200 {
		t.Errorf("primary: %d %s; want 200", r.StatusCode(), r.Body())
	}

	c.set(t, defaultFleet("2", ups).snapshot(t))
	waitFor(t, "canary arrives", func() bool { u, _ := h.app.last(); _, has := u.Config.Upstreams["canary"]; return has })
	if r := call("canary"); r.StatusCode() != 200 {
		t.Errorf("canary after its cluster: %d %s; want 200", r.StatusCode(), r.Body())
	}
}

// An error from Apply is a NACK, and the previous config stays.
func TestApplyErrorIsNack(t *testing.T) {
	ups := upstreams(t, "primary", "canary")
	c := startCP(t, "127.0.0.1:0")
	c.set(t, defaultFleet("1", ups).snapshot(t))
	h := startClient(t, c.addr, nil)
	waitFor(t, "first config", synced(h))
	h.app.mu.Lock()
	h.app.fail = func(cfg *config.Config) error {
		if cfg.ShadowSamples.Keep == 3 {
			return errors.New("shadow_samples: cannot change without a restart")
		}
		return nil
	}
	h.app.mu.Unlock()
	f := defaultFleet("2", ups)
	f.ext["shadow_samples"] = map[string]any{"keep": 3}
	c.set(t, f.snapshot(t))
	waitFor(t, "a NACK", func() bool { return len(nacks(c.wire, ExtensionConfigType)) > 0 })
	msg := nacks(c.wire, ExtensionConfigType)[0].GetErrorDetail().GetMessage()
	if !strings.Contains(msg, "cannot change without a restart") || !strings.Contains(msg, `TypedExtensionConfig "driftcar"`) {
		t.Errorf("got error_detail %q", msg)
	}
	if u, n := h.app.last(); n != 1 || u.Config.ShadowSamples.Keep != 7 {
		t.Errorf("got %d applies, keep %d; want the first config only", n, u.Config.ShadowSamples.Keep)
	}
}

// TestSetBase covers a reload of the base file: it is merged under the
// xDS state at once, a bad base is rejected whole with the previous one
// kept, and a base set before the first sync shapes the first config.
func TestSetBase(t *testing.T) {
	const base = "listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nmodel: m\n"
	ups := upstreams(t, "primary", "canary")
	c := startCP(t, "127.0.0.1:0")
	h := startClient(t, c.addr, nil)
	if err := h.c.SetBase([]byte(base + "drain_timeout: 3s\n")); err != nil {
		t.Fatalf("SetBase before the first sync: %v", err)
	}
	c.set(t, defaultFleet("1", ups).snapshot(t))
	waitFor(t, "first config", synced(h))
	if u, _ := h.app.last(); time.Duration(u.Config.DrainTimeout) != 3*time.Second {
		t.Errorf("first config has drain_timeout %v; want the 3s set before the sync", u.Config.DrainTimeout)
	}

	if err := h.c.SetBase([]byte(base + "drain_timeout: 7s\n")); err != nil {
		t.Fatalf("SetBase: %v", err)
	}
	u, n := h.app.last()
	if n != 2 || time.Duration(u.Config.DrainTimeout) != 7*time.Second || u.Version != "1" {
		t.Fatalf("after SetBase: %d applies, drain_timeout %v, version %q; want 2, 7s, 1", n, u.Config.DrainTimeout, u.Version)
	}
	if got := weights(u.Config); !slices.Equal(got, []string{"primary=90", "canary=10"}) {
		t.Errorf("SetBase lost the xDS routing: arms %v", got)
	}

	for _, tc := range []struct{ name, base, want string }{
		{"not YAML", "listen: [", "cannot use the new base"},
		{"unknown field", base + "bogus: 1\n", "bogus"},
		{"invalid value", base + "drain_timeout: -1s\n", "drain_timeout"},
	} {
		err := h.c.SetBase([]byte(tc.base))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v; want one containing %q", tc.name, err, tc.want)
		}
	}
	h.app.mu.Lock()
	h.app.fail = func(cfg *config.Config) error {
		if cfg.Model == "other" {
			return errors.New("model: cannot change without a restart")
		}
		return nil
	}
	h.app.mu.Unlock()
	if err := h.c.SetBase([]byte("listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nmodel: other\n")); err == nil || !strings.Contains(err.Error(), "without a restart") {
		t.Errorf("a base Apply rejects: got error %v", err)
	}
	if _, n := h.app.last(); n != 2 {
		t.Errorf("rejected bases were applied: %d applies; want 2", n)
	}

	f := defaultFleet("2", ups)
	f.ext["shadow_samples"] = map[string]any{"keep": 5}
	c.set(t, f.snapshot(t))
	waitFor(t, "version 2", func() bool { u, _ := h.app.last(); return u.Version == "2" })
	if u, _ := h.app.last(); time.Duration(u.Config.DrainTimeout) != 7*time.Second || u.Config.Model != "m" {
		t.Errorf("the next push used drain_timeout %v, model %q; want the last good base (7s, m)", u.Config.DrainTimeout, u.Config.Model)
	}
}
