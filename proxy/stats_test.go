package proxy

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
)

// TestArmStatsExportLikeAHistogramVec: the atomic stats export the same
// counter and histogram series, help and type as the client_golang
// vectors they replace, with durations on bucket edges counted alike.
func TestArmStatsExportLikeAHistogramVec(t *testing.T) {
	durations := []time.Duration{
		0, 100 * time.Microsecond, 100*time.Microsecond + 1, 150 * time.Microsecond,
		3 * time.Millisecond, time.Second, 30 * time.Second, 31 * time.Second, time.Minute,
	}
	statuses := []int{200, 200, 503, 404, 200, 101, 302, 99, 500}

	m := NewMetrics(prometheus.NewRegistry())
	a := m.arms.get("predict", "canary")
	m.arms.get("predict", "live")

	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "requests_total",
		Help: "Client requests by route, arm and status class.",
	}, []string{"route", "arm", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "request_duration_seconds",
		Help:    "Time from reading a client request to handing its response to the server, by route and arm.",
		Buckets: latencyBuckets[:],
	}, []string{"route", "arm"})
	reg.MustRegister(requests, duration)
	for _, arm := range []string{"canary", "live"} {
		for _, c := range statusClasses {
			requests.WithLabelValues("predict", arm, c)
		}
		duration.WithLabelValues("predict", arm)
	}
	for i, d := range durations {
		a.observe(statusClass(statuses[i]), d)
		requests.WithLabelValues("predict", "canary", statusClasses[statusClass(statuses[i])]).Inc()
		duration.WithLabelValues("predict", "canary").Observe(d.Seconds())
	}

	var want strings.Builder
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&want, mf); err != nil {
			t.Fatal(err)
		}
	}
	if err := testutil.CollectAndCompare(m.arms, strings.NewReader(want.String())); err != nil {
		t.Error(err)
	}

	st := a.snapshot()
	if st.Requests != uint64(len(durations)) || st.Errors != 2 {
		t.Errorf("snapshot: got %d requests, %d errors; want %d, 2", st.Requests, st.Errors, len(durations))
	}
	if got := st.Buckets[len(st.Buckets)-1]; got != 7 {
		t.Errorf("count at le=30: got %d; want 7", got)
	}
}

func TestArmStatsSurviveApplyAndForget(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	a := m.forArm("predict", "live").stats
	a.observe(2, time.Millisecond)
	if b := m.forArm("predict", "live").stats; b != a {
		t.Fatal("a new table's arm does not carry on from the old table's stats")
	}
	m.forget("predict", "live")
	if b := m.forArm("predict", "live").stats; b == a || b.snapshot().Requests != 0 {
		t.Error("a forgotten arm came back with its old counts")
	}
	if n := testutil.CollectAndCount(m.arms); n != 7 {
		t.Errorf("series after forget: got %d; want 7 (6 codes and 1 histogram)", n)
	}
}

// BenchmarkRecordArm is the request path's metric work per request: the
// atomic stats against the client_golang counter and histogram they
// replace.
func BenchmarkRecordArm(b *testing.B) {
	b.Run("atomic", func(b *testing.B) {
		a := NewMetrics(prometheus.NewRegistry()).arms.get("predict", "live")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				a.observe(2, 180*time.Microsecond)
			}
		})
	})
	b.Run("client_golang", func(b *testing.B) {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: "c"})
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h", Buckets: latencyBuckets[:]})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Inc()
				h.Observe((180 * time.Microsecond).Seconds())
			}
		})
	})
}
