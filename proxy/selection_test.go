package proxy

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"
)

// chiSquare returns Pearson's statistic of observed counts against the
// shares implied by weights.
func chiSquare(observed []int, weights []int) float64 {
	total, wsum := 0, 0
	for i := range observed {
		total += observed[i]
		wsum += weights[i]
	}
	x2 := 0.0
	for i, o := range observed {
		e := float64(total) * float64(weights[i]) / float64(wsum)
		x2 += (float64(o) - e) * (float64(o) - e) / e
	}
	return x2
}

// chi2Crit001 is the 0.999 quantile of chi-square with 1 and 2 degrees of
// freedom (scipy.stats.chi2.ppf(0.999, df)).
var chi2Crit001 = map[int]float64{1: 10.828, 2: 13.816}

func TestSplitWeights(t *testing.T) {
	var hits [2]atomic.Int64
	live := startUpstream(t, func(*fasthttp.RequestCtx) { hits[0].Add(1) })
	canary := startUpstream(t, func(*fasthttp.RequestCtx) { hits[1].Add(1) })
	cfg := mustParse(t, fmt.Sprintf(`
upstreams:
  live:   { address: %s }
  canary: { address: %s }
routes:
  - name: predict
    split:
      - { upstream: live,   weight: 90 }
      - { upstream: canary, weight: 10 }
`, live, canary))
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(42, 7))
	p := startProxy(t, cfg, Options{Rand: func(n uint64) uint64 {
		mu.Lock()
		defer mu.Unlock()
		return rng.Uint64N(n)
	}})
	const n = 20000
	var wg sync.WaitGroup
	hc := p.client()
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for i := w; i < n; i += 8 {
				req.SetRequestURI("http://" + p.addr + "/predict")
				req.Header.SetMethod("POST")
				req.SetBodyString(`{"instances":[1]}`)
				if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					t.Errorf("request %d: %v %d", i, err, resp.StatusCode())
					return
				}
			}
		}()
	}
	wg.Wait()
	observed := []int{int(hits[0].Load()), int(hits[1].Load())}
	if observed[0]+observed[1] != n {
		t.Fatalf("upstreams saw %d requests; want %d", observed[0]+observed[1], n)
	}
	x2 := chiSquare(observed, []int{90, 10})
	t.Logf("live=%d canary=%d chi2=%.3f", observed[0], observed[1], x2)
	if x2 > chi2Crit001[1] {
		t.Errorf("split 90/10 over %d requests: got %v, chi2 %.2f > %.2f", n, observed, x2, chi2Crit001[1])
	}
	for arm, want := range map[string]int{"live": observed[0], "canary": observed[1]} {
		got := counterValue(t, p.reg, "driftcar_requests_total", map[string]string{"route": "predict", "arm": arm, "code": "2xx"})
		if int(got) != want {
			t.Errorf("requests_total{arm=%s}: got %v; want %d", arm, got, want)
		}
	}
}

func TestChooserRandomShares(t *testing.T) {
	c := newChooser([]string{"a", "b", "c"}, []int{5, 0, 15})
	rng := rand.New(rand.NewPCG(3, 4))
	counts := make([]int, 3)
	for range 20000 {
		counts[c.random(rng.Uint64N(c.total))]++
	}
	if counts[1] != 0 {
		t.Errorf("weight-0 arm chosen %d times", counts[1])
	}
	if x2 := chiSquare([]int{counts[0], counts[2]}, []int{5, 15}); x2 > chi2Crit001[1] {
		t.Errorf("shares %v: chi2 %.2f", counts, x2)
	}
}

func TestStickyConsistentAndProportional(t *testing.T) {
	names := []string{"live", "canary", "blue"}
	c := newChooser(names, []int{70, 20, 10})
	counts := make([]int, 3)
	for i := range 20000 {
		key := []byte("user-" + strconv.Itoa(i))
		a := c.sticky(key)
		if c2 := newChooser(names, []int{70, 20, 10}); c2.sticky(key) != a {
			t.Fatalf("key %s: arm %d differs in a fresh chooser", key, a)
		}
		counts[a]++
	}
	if x2 := chiSquare(counts, []int{70, 20, 10}); x2 > chi2Crit001[2] {
		t.Errorf("sticky shares %v: chi2 %.2f > %.2f", counts, x2, chi2Crit001[2])
	}
}

func TestStickyMonotoneWeightChange(t *testing.T) {
	names := []string{"live", "canary"}
	steps := [][]int{{90, 10}, {80, 20}, {50, 50}, {10, 90}, {0, 100}}
	prev := newChooser(names, steps[0])
	for _, w := range steps[1:] {
		next := newChooser(names, w)
		moved := 0
		for i := range 20000 {
			key := []byte("user-" + strconv.Itoa(i))
			before, after := prev.sticky(key), next.sticky(key)
			if before == 1 && after != 1 {
				t.Fatalf("weights %v: key %s left the canary", w, key)
			}
			if before != after {
				moved++
			}
		}
		t.Logf("weights %v: %d of 20000 keys moved into the canary", w, moved)
		prev = next
	}
}

func TestStickyThroughProxy(t *testing.T) {
	var hits [2]atomic.Int64
	live := startUpstream(t, func(ctx *fasthttp.RequestCtx) { hits[0].Add(1); ctx.SetBodyString("live") })
	canary := startUpstream(t, func(ctx *fasthttp.RequestCtx) { hits[1].Add(1); ctx.SetBodyString("canary") })
	for _, tc := range []struct{ sticky, header, value, uri string }{
		{"header: x-user-id", "X-User-Id", "", "/p"},
		{"cookie: uid", "Cookie", "uid=", "/p"},
		{"query: user", "", "", "/p?user="},
	} {
		t.Run(tc.sticky, func(t *testing.T) {
			cfgFor := func(canaryWeight int) string {
				return fmt.Sprintf(`
upstreams:
  live:   { address: %s }
  canary: { address: %s }
routes:
  - name: predict
    split:
      - { upstream: live,   weight: %d }
      - { upstream: canary, weight: %d }
    sticky: { %s }
`, live, canary, 100-canaryWeight, canaryWeight, tc.sticky)
			}
			p := startProxy(t, mustParse(t, cfgFor(10)), Options{})
			hc := p.client()
			armOf := func(user string) string {
				uri := tc.uri
				var hdr []string
				if tc.header != "" {
					hdr = []string{tc.header, tc.value + user}
				} else {
					uri += user
				}
				return string(p.do(t, hc, "POST", uri, []byte("{}"), hdr...).Body())
			}
			first := map[string]string{}
			for i := range 300 {
				u := "u" + strconv.Itoa(i)
				first[u] = armOf(u)
				if again := armOf(u); again != first[u] {
					t.Fatalf("user %s: got %s then %s", u, first[u], again)
				}
			}
			p.srv.Apply(mustParse(t, cfgFor(20)), nil)
			inCanary := 0
			for u, before := range first {
				after := armOf(u)
				if before == "canary" && after != "canary" {
					t.Errorf("user %s left the canary after raising its weight", u)
				}
				if after == "canary" {
					inCanary++
				}
			}
			if inCanary < 30 || inCanary > 95 {
				t.Errorf("canary at weight 20: got %d of 300 users; want about 60", inCanary)
			}
		})
	}
}

func TestArmOverride(t *testing.T) {
	live := startUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("live") })
	canary := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		if len(ctx.Request.Header.Peek(headerArmOverride)) > 0 {
			ctx.SetBodyString("leaked override header")
			return
		}
		ctx.SetBodyString("canary")
	})
	for _, tc := range []struct {
		allow bool
		want  string
	}{{false, "live"}, {true, "canary"}} {
		t.Run(strconv.FormatBool(tc.allow), func(t *testing.T) {
			p := startProxy(t, mustParse(t, fmt.Sprintf(`
upstreams:
  live:   { address: %s }
  canary: { address: %s }
routes:
  - name: predict
    arm_override: %t
    split:
      - { upstream: live,   weight: 1 }
      - { upstream: canary, weight: 0 }
`, live, canary, tc.allow)), Options{})
			got := string(p.do(t, p.client(), "GET", "/", nil, "X-Driftcar-Arm", "canary").Body())
			if got != tc.want {
				t.Errorf("arm_override %t: got %q; want %q", tc.allow, got, tc.want)
			}
		})
	}
}

func TestStatsAndSetWeight(t *testing.T) {
	live := startUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("live") })
	canary := startUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(500) })
	p := startProxy(t, mustParse(t, splitConfig(live, canary, false)), Options{})
	if err := p.srv.SetWeight("predict", "live", 0); err != nil {
		t.Fatal(err)
	}
	hc := p.client()
	for range 10 {
		p.do(t, hc, "POST", "/", []byte("{}"))
	}
	stats := p.srv.Stats("predict")
	if len(stats) != 2 || stats[1].Arm != "canary" || stats[1].Requests != 10 || stats[1].Errors != 10 || stats[0].Requests != 0 {
		t.Fatalf("stats after live weight 0: got %+v", stats)
	}
	if got := stats[1].Buckets[len(stats[1].Buckets)-1]; got != 10 {
		t.Errorf("canary duration buckets: last got %d; want 10", got)
	}
	if err := p.srv.SetWeight("predict", "canary", 0); err == nil {
		t.Error("setting the last weighted arm to 0: got nil; want an error")
	}
	if err := p.srv.SetWeight("predict", "live", 90); err != nil {
		t.Fatal(err)
	}
	if err := p.srv.SetWeight("predict", "canary", 0); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if got := string(p.do(t, hc, "POST", "/", []byte("{}")).Body()); got != "live" {
			t.Fatalf("after rolling the canary back: got %q; want live", got)
		}
	}
	if err := p.srv.SetWeight("nope", "live", 1); err == nil {
		t.Error("unknown route: got nil; want an error")
	}
}
