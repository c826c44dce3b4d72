package detector

import (
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/testutil"
)

// fedSignals is a Signals func fed by the test.
type fedSignals struct {
	mu    sync.Mutex
	by    map[string]Signals
	calls atomic.Int64
}

func (f *fedSignals) set(route string, s Signals) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.by[route] = s
}

func (f *fedSignals) get(route string) Signals {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.by[route]
}

func (w *Webhook) heldCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.held)
}

// The seed's "high latency AND high PSI", plus a shadow floor and an
// error rate: all four must hold at once.
var fourConditions = []Condition{
	{Kind: CondDrift},
	{Kind: CondLatencyP99RatioAbove, Value: 1.5},
	{Kind: CondShadowAgreementBelow, Value: 0.95},
	{Kind: CondErrorRateAbove, Value: 0.01},
}

func allBad() Signals {
	return Signals{Drift: true, LatencyP99Ratio: Measured(1.8), ShadowAgreement: Measured(0.90), ErrorRate: Measured(0.02)}
}

func TestConditionHolds(t *testing.T) {
	tests := []struct {
		c    Condition
		s    Signals
		want bool
	}{
		{Condition{Kind: CondDrift}, Signals{Drift: true}, true},
		{Condition{Kind: CondDrift}, Signals{}, false},
		{Condition{Kind: CondLatencyP99RatioAbove, Value: 1.5}, Signals{LatencyP99Ratio: Measured(1.51)}, true},
		{Condition{Kind: CondLatencyP99RatioAbove, Value: 1.5}, Signals{LatencyP99Ratio: Measured(1.5)}, false},
		{Condition{Kind: CondShadowAgreementBelow, Value: 0.95}, Signals{ShadowAgreement: Measured(0.94)}, true},
		{Condition{Kind: CondShadowAgreementBelow, Value: 0.95}, Signals{ShadowAgreement: Measured(0.95)}, false},
		// An unmeasured agreement is not a low one, though its zero value is.
		{Condition{Kind: CondShadowAgreementBelow, Value: 0.95}, Signals{}, false},
		{Condition{Kind: CondErrorRateAbove, Value: 0.01}, Signals{ErrorRate: Measured(0.011)}, true},
		{Condition{Kind: CondErrorRateAbove, Value: 0.01}, Signals{ErrorRate: Signal{Value: 0.5}}, false},
		{Condition{}, allBad(), false},
	}
	for _, tc := range tests {
		if got := tc.c.Holds(tc.s); got != tc.want {
			t.Errorf("%s on %+v: got %v; want %v", tc.c, tc.s, got, tc.want)
		}
	}
}

func TestWebhookWhenAllConditions(t *testing.T) {
	tg := &target{}
	srv := startTarget(t, tg)
	sig := &fedSignals{by: map[string]Signals{}}
	var now atomic.Int64
	w := NewWebhook(WebhookOptions{URL: srv, When: fourConditions, Signals: sig.get, Recheck: time.Hour,
		Now: func() time.Time { return time.Unix(now.Load(), 0) }}, nil)

	// Drift and errors, but latency and shadow agreement are fine.
	s := allBad()
	s.LatencyP99Ratio, s.ShadowAgreement = Measured(1.1), Measured(0.99)
	sig.set("predict", s)
	w.Notify(Payload{Model: "m", Route: "predict"})
	w.Recheck()
	if q, h := len(w.queue), w.heldCount(); q != 0 || h != 1 {
		t.Fatalf("two conditions of four hold: queued %d, held %d; want 0 and 1", q, h)
	}

	// Three of four: still held.
	s.LatencyP99Ratio = Measured(1.8)
	sig.set("predict", s)
	w.Recheck()
	if q, h := len(w.queue), w.heldCount(); q != 0 || h != 1 {
		t.Fatalf("three conditions of four hold: queued %d, held %d; want 0 and 1", q, h)
	}

	// All four: queued and delivered.
	sig.set("predict", allBad())
	w.Recheck()
	if q, h := len(w.queue), w.heldCount(); q != 1 || h != 0 {
		t.Fatalf("all conditions hold: queued %d, held %d; want 1 and 0", q, h)
	}
	runWebhook(t, w)
	testutil.Eventually(t, 10*time.Second, "the alert is delivered", func() bool { return tg.count() == 1 })
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.got[0].Route != "predict" {
		t.Errorf("delivered route: got %q; want predict", tg.got[0].Route)
	}
}

func TestWebhookWhenExpires(t *testing.T) {
	sig := &fedSignals{by: map[string]Signals{}}
	var now atomic.Int64
	w := NewWebhook(WebhookOptions{URL: "http://127.0.0.1:1/", When: fourConditions, Signals: sig.get,
		MaxHold: 10 * time.Minute, Now: func() time.Time { return time.Unix(now.Load(), 0) }}, nil)

	// The drift ends before latency rises: the alert is dropped.
	s := allBad()
	s.LatencyP99Ratio = Measured(1)
	sig.set("a", s)
	w.Notify(Payload{Route: "a"})
	w.Recheck()
	s.Drift = false
	sig.set("a", s)
	w.Recheck()
	if h, u := w.heldCount(), w.unmet.Load(); h != 0 || u != 1 {
		t.Errorf("drift ended: held %d, expired %d; want 0 and 1", h, u)
	}

	// Drift lasts but the other conditions never come: dropped after MaxHold.
	s.Drift = true
	sig.set("b", s)
	w.Notify(Payload{Route: "b"})
	now.Add(int64(9 * time.Minute / time.Second))
	w.Recheck()
	if h := w.heldCount(); h != 1 {
		t.Errorf("before MaxHold: held %d; want 1", h)
	}
	now.Add(int64(time.Minute / time.Second))
	w.Recheck()
	if h, u := w.heldCount(), w.unmet.Load(); h != 0 || u != 2 {
		t.Errorf("after MaxHold: held %d, expired %d; want 0 and 2", h, u)
	}
	if len(w.queue) != 0 {
		t.Errorf("expired alerts were queued: %d", len(w.queue))
	}
}

// Notify runs under the Monitor's lock, so it must not call Signals, which
// the integrator may answer from that Monitor; Run evaluates instead.
func TestWebhookNotifyNeverCallsSignals(t *testing.T) {
	tg := &target{}
	srv := startTarget(t, tg)
	gate := make(chan struct{})
	var calls atomic.Int64
	w := NewWebhook(WebhookOptions{URL: srv, When: []Condition{{Kind: CondDrift}}, Signals: func(string) Signals {
		calls.Add(1)
		<-gate
		return Signals{Drift: true}
	}}, nil)
	runWebhook(t, w)
	for range 3 {
		w.Notify(Payload{Route: "predict"}) // would block on the gate if it measured
	}
	testutil.Eventually(t, 10*time.Second, "Run measures the held alert", func() bool { return calls.Load() >= 1 })
	close(gate)
	testutil.Eventually(t, 10*time.Second, "the alert is delivered once", func() bool { return tg.count() == 1 })
}

// Without when the webhook sends on drift alone and never measures.
func TestWebhookWithoutWhenIgnoresSignals(t *testing.T) {
	sig := &fedSignals{by: map[string]Signals{}}
	w := NewWebhook(WebhookOptions{URL: "http://127.0.0.1:1/", Signals: sig.get}, nil)
	w.Notify(Payload{Route: "predict"})
	w.Recheck()
	if len(w.queue) != 1 || sig.calls.Load() != 0 {
		t.Errorf("queued %d, Signals called %d times; want 1 and 0", len(w.queue), sig.calls.Load())
	}

	// Dropping when on a reload releases the held alerts.
	w2 := NewWebhook(WebhookOptions{URL: "http://127.0.0.1:1/", When: fourConditions, Signals: sig.get}, nil)
	w2.Notify(Payload{Route: "predict"})
	w2.Reconfigure(WebhookOptions{URL: "http://127.0.0.1:1/"})
	w2.Recheck()
	if len(w2.queue) != 1 || w2.heldCount() != 0 {
		t.Errorf("after dropping when: queued %d, held %d; want 1 and 0", len(w2.queue), w2.heldCount())
	}
}

func TestWebhookHeldIsBounded(t *testing.T) {
	w := NewWebhook(WebhookOptions{URL: "http://127.0.0.1:1/", When: fourConditions}, nil)
	for i := range maxHeld + 10 {
		w.Notify(Payload{Route: string(rune(0x4e00 + i))})
	}
	w.Notify(Payload{Route: string(rune(0x4e00))}) // a held route is replaced, not dropped
	if h, d := w.heldCount(), w.heldFull.Load(); h != maxHeld || d != 10 {
		t.Errorf("held %d, dropped %d; want %d and 10", h, d, maxHeld)
	}
}

func startTarget(t *testing.T, tg *target) string {
	t.Helper()
	srv := httptest.NewServer(tg)
	t.Cleanup(srv.Close)
	return srv.URL
}
