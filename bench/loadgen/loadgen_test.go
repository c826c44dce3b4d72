package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"

	"github.com/driftcar/driftcar/bench/modelstub"
	"github.com/driftcar/driftcar/internal/testupstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, testupstream.GoleakOptions...) }

// within fails unless lo <= got <= hi.
func within(t reporter, what string, got, lo, hi time.Duration) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("%s = %v; want within [%v, %v]", what, got, lo, hi)
	}
}

// reporter receives the failures of a timing check: the test, or one
// attempt of it.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// attempt collects the failures of one try of a wall-clock measurement.
type attempt struct{ errs []string }

func (a *attempt) Helper() {}

func (a *attempt) Errorf(format string, args ...any) {
	a.errs = append(a.errs, fmt.Sprintf(format, args...))
}

// timing runs a wall-clock measurement up to three times and fails with
// the last attempt's errors: a machine busy with other work can stall the
// generator itself for hundreds of milliseconds, which a repeat tells
// apart from a generator that is wrong every time.
func timing(t *testing.T, measure func(r reporter)) {
	t.Helper()
	for try := 1; ; try++ {
		a := &attempt{}
		measure(a)
		if len(a.errs) == 0 {
			return
		}
		if try == 3 {
			for _, e := range a.errs {
				t.Error(e)
			}
			return
		}
		t.Logf("attempt %d disturbed, retrying: %s", try, strings.Join(a.errs, "; "))
	}
}

// The timing tests below use delays of 100 ms and more and count
// requests beyond 50 ms, so that the scheduling hiccups of a loaded
// machine under the race detector (a few to tens of milliseconds) do not
// decide them.

// countWithin fails unless lo <= the number of observations of h above d
// <= hi.
func countWithin(t reporter, what string, h *Histogram, d time.Duration, lo, hi int64) {
	t.Helper()
	if n := h.CountAbove(d); n < lo || n > hi {
		t.Errorf("%s: %d above %v; want %d..%d (summary %+v)", what, n, d, lo, hi, h.Summary())
	}
}

// TestOpenLoopKeepsScheduleAgainstSlowServer: a server that takes 100 ms
// for every answer must not slow the sends down. At 100 requests/s about
// ten requests are in flight at once; every one leaves on schedule, and
// latency is the server's 100 ms.
func TestOpenLoopKeepsScheduleAgainstSlowServer(t *testing.T) {
	timing(t, func(r reporter) {
		s, err := modelstub.Start("127.0.0.1:0", modelstub.Options{Delay: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		h := NewHTTP(HTTPOptions{Addr: s.Addr(), Path: modelstub.V1.Path(), Body: modelstub.V1.RequestBody()})
		defer h.Close()

		res, err := OpenLoop(context.Background(), h, OpenOptions{Rate: 100, Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != 100 || res.OK != 100 || res.Failed() != 0 {
			t.Fatalf("sent %d, ok %d, failed %d; want 100, 100, 0", res.Sent, res.OK, res.Failed())
		}
		if res.Workers < 9 {
			r.Errorf("workers = %d; want >= 9 (100/s × 100 ms)", res.Workers)
		}
		// Had sends waited for answers, most would be late by tens to
		// hundreds of milliseconds.
		countWithin(r, "send lag", res.SendLag, 50*time.Millisecond, 0, 3)
		within(r, "latency p50", res.Latency.Quantile(50), 100*time.Millisecond, 150*time.Millisecond)
		within(r, "elapsed", res.Elapsed, time.Second, 1500*time.Millisecond)
		if got := res.Achieved(); got < 65 || got > 100 {
			r.Errorf("achieved %.1f/s; want about 100/s", got)
		}
	})
}

// stallOnce is a server that, at the first request after `after` since the
// first request, stops answering everything for `stall`: the stalling
// request holds a write lock that every other request waits for.
type stallOnce struct {
	after, stall time.Duration
	mu           sync.RWMutex
	first        atomic.Int64
	stalled      atomic.Bool
}

func (s *stallOnce) handle(ctx *fasthttp.RequestCtx) {
	now := time.Now().UnixNano()
	s.first.CompareAndSwap(0, now)
	if now-s.first.Load() >= int64(s.after) && s.stalled.CompareAndSwap(false, true) {
		s.mu.Lock()
		time.Sleep(s.stall)
		s.mu.Unlock()
	} else {
		s.mu.RLock()
		s.mu.RUnlock() //nolint:staticcheck // SA2001: waiting out a stall is the point
	}
	ctx.SetBodyString(`{"predictions":[0.73]}`)
}

// TestCoordinatedOmissionCorrected: with one connection (as wrk2 -c1, or
// any generator that waits for a free connection) a 200 ms stall at 200
// requests/s delays the 40 sends scheduled during it. Their latency from
// the intended send time follows the known pattern 200, 195, 190, ... 5
// ms: 30 of them above 50 ms. The naive measurement from the actual send
// shows the one stalled request and hides the rest.
func TestCoordinatedOmissionCorrected(t *testing.T) {
	timing(t, func(r reporter) {
		const stall = 200 * time.Millisecond
		srv := &stallOnce{after: 300 * time.Millisecond, stall: stall}
		addr := testupstream.Start(t, srv.handle)
		h := NewHTTP(HTTPOptions{Addr: addr, MaxConns: 1})
		defer h.Close()

		res, err := OpenLoop(context.Background(), h, OpenOptions{Rate: 200, Duration: time.Second, MaxInFlight: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.OK != 200 {
			t.Fatalf("ok %d; want 200", res.OK)
		}
		t.Logf("corrected %+v", res.Latency.Summary())
		t.Logf("naive     %+v", res.Uncorrected.Summary())
		t.Logf("send lag  %+v", res.SendLag.Summary())
		// Naive: one slow request among 200.
		countWithin(r, "naive", res.Uncorrected, 50*time.Millisecond, 1, 3)
		within(r, "naive max", res.Uncorrected.Max(), stall, stall+100*time.Millisecond)
		// Corrected: the queueing behind the stall, request by request.
		countWithin(r, "corrected", res.Latency, 50*time.Millisecond, 25, 38)
		for _, c := range []struct {
			m    int // the m-th largest latency
			want time.Duration
		}{{5, 180 * time.Millisecond}, {10, 155 * time.Millisecond}, {20, 105 * time.Millisecond}} {
			got := res.Latency.Quantile(100 - 100*float64(c.m)/200)
			within(r, "corrected top "+strconv.Itoa(c.m), got, c.want-30*time.Millisecond, c.want+30*time.Millisecond)
		}
		within(r, "corrected max", res.Latency.Max(), stall, stall+100*time.Millisecond)
		// The generator could not send during the stall, and says so.
		countWithin(r, "send lag", res.SendLag, 50*time.Millisecond, 25, 38)
	})
}

// TestOpenLoopSendsThroughStall: without a connection cap the same stall
// does not delay any send; the requests queue at the server and both
// measurements see the stall.
func TestOpenLoopSendsThroughStall(t *testing.T) {
	timing(t, func(r reporter) {
		const stall = 200 * time.Millisecond
		srv := &stallOnce{after: 300 * time.Millisecond, stall: stall}
		addr := testupstream.Start(t, srv.handle)
		h := NewHTTP(HTTPOptions{Addr: addr})
		defer h.Close()

		res, err := OpenLoop(context.Background(), h, OpenOptions{Rate: 200, Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if res.OK != 200 {
			t.Fatalf("ok %d; want 200", res.OK)
		}
		if res.Workers < 30 {
			r.Errorf("workers = %d; want >= 30 (the stall holds ~40 requests)", res.Workers)
		}
		countWithin(r, "send lag", res.SendLag, 50*time.Millisecond, 0, 3)
		countWithin(r, "corrected", res.Latency, 50*time.Millisecond, 25, 38)
		countWithin(r, "naive", res.Uncorrected, 50*time.Millisecond, 25, 38)
	})
}

// TestClosedLoopConcurrency: N workers keep exactly N requests in flight.
func TestClosedLoopConcurrency(t *testing.T) {
	timing(t, func(rep reporter) {
		var inflight, peak atomic.Int64
		r := RequesterFunc(func() (int, error) {
			n := inflight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(10 * time.Millisecond)
			inflight.Add(-1)
			return 200, nil
		})
		res, err := ClosedLoop(context.Background(), r, ClosedOptions{Conns: 4, Duration: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if got := peak.Load(); got != 4 {
			rep.Errorf("peak in flight %d; want 4", got)
		}
		// 4 workers × 200 ms / 10 ms each = 80, less scheduling overhead.
		if res.OK < 40 || res.OK > 84 {
			rep.Errorf("ok %d; want about 80", res.OK)
		}
		if res.Mode != Closed || res.Conns != 4 || res.SendLag.Count() != 0 {
			rep.Errorf("mode %s, conns %d, lag count %d; want closed, 4, 0", res.Mode, res.Conns, res.SendLag.Count())
		}
		within(rep, "p50", res.Latency.Quantile(50), 10*time.Millisecond, 30*time.Millisecond)
	})
}

// TestCounting: every request is counted once, as a 2xx, another status
// or an error, and only responses are in the latency histograms.
func TestCounting(t *testing.T) {
	var n atomic.Int64
	errReset := errors.New("reset")
	r := RequesterFunc(func() (int, error) {
		switch i := n.Add(1); {
		case i%5 == 0:
			return 0, errReset
		case i%3 == 0:
			return 500, nil
		}
		return 200, nil
	})
	live := new(Live)
	res, err := OpenLoop(context.Background(), r, OpenOptions{Rate: 3000, Duration: 100 * time.Millisecond, Live: live})
	if err != nil {
		t.Fatal(err)
	}
	// i = 1..300: 60 errors; of the other 240, 80 are multiples of 3.
	if res.Sent != 300 || res.Errors != 60 || res.Responses != 240 || res.OK != 160 || res.Failed() != 140 {
		t.Fatalf("sent %d errors %d responses %d ok %d failed %d; want 300 60 240 160 140",
			res.Sent, res.Errors, res.Responses, res.OK, res.Failed())
	}
	if res.Latency.Count() != 240 || res.Uncorrected.Count() != 240 || res.SendLag.Count() != 300 {
		t.Errorf("histogram counts %d %d %d; want 240 240 300", res.Latency.Count(), res.Uncorrected.Count(), res.SendLag.Count())
	}
	if live.Sent.Load() != 300 || live.Done.Load() != 300 || live.Failed.Load() != 140 || live.InFlight.Load() != 0 {
		t.Errorf("live %d %d %d %d; want 300 300 140 0", live.Sent.Load(), live.Done.Load(), live.Failed.Load(), live.InFlight.Load())
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	r := RequesterFunc(func() (int, error) { return 200, nil })
	res, err := OpenLoop(ctx, r, OpenOptions{Rate: 100, Duration: time.Minute})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %v; want soon after the cancel", d)
	}
	if res == nil || res.Sent == 0 || res.Sent > 30 {
		t.Errorf("partial result %+v; want ~10 requests", res)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel2)
	if _, err := ClosedLoop(ctx2, r, ClosedOptions{Conns: 2, Duration: time.Minute}); !errors.Is(err, context.Canceled) {
		t.Fatalf("closed: err = %v; want context.Canceled", err)
	}
}

func TestOptionErrors(t *testing.T) {
	r := RequesterFunc(func() (int, error) { return 200, nil })
	ctx := context.Background()
	for _, c := range []struct {
		name string
		err  error
		run  func() error
	}{
		{"zero rate", ErrBadRate, func() error { _, err := OpenLoop(ctx, r, OpenOptions{Duration: time.Second}); return err }},
		{"NaN rate", ErrBadRate, func() error {
			_, err := OpenLoop(ctx, r, OpenOptions{Rate: math.NaN(), Duration: time.Second})
			return err
		}},
		{"zero duration", ErrBadDuration, func() error { _, err := OpenLoop(ctx, r, OpenOptions{Rate: 1}); return err }},
		{"zero conns", ErrBadConns, func() error { _, err := ClosedLoop(ctx, r, ClosedOptions{Duration: time.Second}); return err }},
		{"closed zero duration", ErrBadDuration, func() error { _, err := ClosedLoop(ctx, r, ClosedOptions{Conns: 1}); return err }},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.run(); !errors.Is(err, c.err) {
				t.Errorf("got %v; want %v", err, c.err)
			}
		})
	}
}

// TestHistogramUniform checks the percentile math against the uniform
// distribution 1..100000 µs, whose percentiles are known exactly: HDR at 3
// significant digits must be within 0.1%.
func TestHistogramUniform(t *testing.T) {
	h := NewHistogram()
	for v := 1; v <= 100000; v++ {
		h.Record(time.Duration(v) * time.Microsecond)
	}
	s := h.Summary()
	for _, c := range []struct {
		name      string
		got, want time.Duration
	}{
		{"p50", s.P50, 50 * time.Millisecond},
		{"p90", s.P90, 90 * time.Millisecond},
		{"p99", s.P99, 99 * time.Millisecond},
		{"p99.9", s.P999, 99900 * time.Microsecond},
		{"max", s.Max, 100 * time.Millisecond},
		{"mean", s.Mean, 50000500 * time.Nanosecond},
	} {
		if rel := math.Abs(float64(c.got-c.want)) / float64(c.want); rel > 0.001 {
			t.Errorf("%s = %v; want %v within 0.1%%", c.name, c.got, c.want)
		}
	}
	if s.Count != 100000 {
		t.Errorf("count %d; want 100000", s.Count)
	}
	// At 90 ms a bucket is 64 µs wide, holding 64 of these values.
	if n := h.CountAbove(90 * time.Millisecond); n < 10000-64 || n > 10000+64 {
		t.Errorf("CountAbove(90ms) = %d; want 10000 ± 64", n)
	}
}

// TestHistogramExponential checks the percentiles of an exponential
// sample (mean 1 ms, fixed seed) against the exact order statistics of the
// same sample (within HDR's 0.1%) and against the distribution's
// quantiles -ln(1-q) ms (within sampling error).
func TestHistogramExponential(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 200000
	vals := make([]time.Duration, n)
	h := NewHistogram()
	for i := range vals {
		vals[i] = time.Duration(rng.ExpFloat64()*1000+1) * time.Microsecond // µs resolution, >= 1 µs
		h.Record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{50, 90, 99, 99.9} {
		got := h.Quantile(q)
		// HDR's rank: the value at count round(q% × n).
		exact := vals[int(math.Round(q/100*n))-1]
		if rel := math.Abs(float64(got-exact)) / float64(exact); rel > 0.001 {
			t.Errorf("p%g = %v; exact order statistic %v, want within 0.1%%", q, got, exact)
		}
		theory := time.Duration(-math.Log(1-q/100) * float64(time.Millisecond))
		if rel := math.Abs(float64(got-theory)) / float64(theory); rel > 0.05 {
			t.Errorf("p%g = %v; exponential quantile %v, want within 5%%", q, got, theory)
		}
	}
}

func TestHistogramMergeAndClamp(t *testing.T) {
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	for i := range 1000 {
		d := time.Duration(i*37%1000+1) * time.Microsecond
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
		all.Record(d)
	}
	a.Merge(b)
	a.Merge(nil)
	if a.Summary() != all.Summary() {
		t.Errorf("merged %+v; want %+v", a.Summary(), all.Summary())
	}
	c := NewHistogram()
	c.Record(0)
	c.Record(time.Hour)
	if got := c.Min(); got != time.Microsecond {
		t.Errorf("min = %v; want 1µs (clamped)", got)
	}
	if got := c.Max(); got < 10*time.Minute || got > 10*time.Minute+time.Second {
		t.Errorf("max = %v; want 10m (clamped)", got)
	}
	if e := NewHistogram().Summary(); e != (Percentiles{}) {
		t.Errorf("empty summary %+v; want zero", e)
	}
}
