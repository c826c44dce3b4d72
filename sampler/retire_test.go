package sampler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/testutil"
)

// A config change that replaces the Set neither resets the route's
// counters nor loses the copies the old Set still had queued: they count
// as dropped (reconfigured), and so does a copy that arrives after.
func TestCountersCarryAcrossSetChanges(t *testing.T) {
	m := model(t)
	newSet := func(workers, queue int) *Set {
		t.Helper()
		s, err := NewSet(m, []RouteSpec{{
			Route: "predict", Protocol: payload.KServeV1, Fraction: 1,
			Queue: queue, MaxBody: 1 << 20, Workers: workers,
		}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sample := func(s *Set, n int) {
		var req fasthttp.Request
		var resp fasthttp.Response
		req.SetBodyString(request)
		resp.SetBodyString(`{"predictions":[0.5]}`)
		for range n {
			s.Tap("predict").Sample(&req, &resp, "live")
		}
	}
	c := NewCollector()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	expect := func(rows, full, reconfigured int) {
		t.Helper()
		want := fmt.Sprintf(`
# HELP driftcar_sampler_rows_total Feature rows decoded from sampled requests.
# TYPE driftcar_sampler_rows_total counter
driftcar_sampler_rows_total{route="predict"} %d
# HELP driftcar_sampler_dropped_total Sampled requests not decoded, by reason.
# TYPE driftcar_sampler_dropped_total counter
driftcar_sampler_dropped_total{reason="body_too_large",route="predict"} 0
driftcar_sampler_dropped_total{reason="queue_full",route="predict"} %d
driftcar_sampler_dropped_total{reason="reconfigured",route="predict"} %d
`, rows, full, reconfigured)
		if err := promtestutil.GatherAndCompare(reg, strings.NewReader(want),
			"driftcar_sampler_rows_total", "driftcar_sampler_dropped_total"); err != nil {
			t.Error(err)
		}
	}

	// No worker: four copies wait in the queue, the fifth finds it full.
	a := newSet(0, 4)
	c.Use(a)
	sample(a, 5)
	expect(0, 1, 0)

	b := newSet(1, 64)
	c.Use(b)
	expect(0, 1, 0) // a is replaced but not yet stopped: its copies may still be decoded
	a.Stop()
	expect(0, 1, 4)
	sample(a, 1) // a request that was on its way to the old Set
	expect(0, 1, 5)

	sample(b, 10)
	testutil.Eventually(t, 10*time.Second, "10 rows decoded", func() bool {
		return b.Tap("predict").counts.rows.Load() == 10
	})
	expect(10, 1, 5)

	// Two changes on, a's counts are folded in and still there.
	d := newSet(1, 64)
	c.Use(d)
	b.Stop()
	expect(10, 1, 5)
	d.Stop()

	c.Use(nil)
	if n := promtestutil.CollectAndCount(c, "driftcar_sampler_rows_total"); n != 0 {
		t.Errorf("with no Set, %d rows series are exported", n)
	}
}
