package detector

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/driftcar/driftcar/internal/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type target struct {
	mu     sync.Mutex
	got    []Payload
	sigs   []string
	status atomic.Int32
}

func (tg *target) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if s := tg.status.Load(); s != 0 && s != 200 {
		w.WriteHeader(int(s))
		return
	}
	var p Payload
	_ = json.Unmarshal(body, &p)
	tg.mu.Lock()
	tg.got = append(tg.got, p)
	tg.sigs = append(tg.sigs, r.Header.Get("X-Driftcar-Signature")+"|"+Sign([]byte("key"), body))
	tg.mu.Unlock()
}

func (tg *target) count() int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return len(tg.got)
}

// runWebhook starts w until the test ends.
func runWebhook(t *testing.T, w *Webhook) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestWebhookSignsRetriesAndCoolsDown(t *testing.T) {
	tg := &target{}
	srv := httptest.NewServer(tg)
	defer srv.Close()
	var now atomic.Int64
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	var sleepMu sync.Mutex
	var sleeps []time.Duration
	w := NewWebhook(WebhookOptions{
		URL: srv.URL, Secret: []byte("key"), Cooldown: 30 * time.Minute, Retries: 3, Now: clock,
		Sleep: func(_ context.Context, d time.Duration) error {
			sleepMu.Lock()
			sleeps = append(sleeps, d)
			sleepMu.Unlock()
			return nil
		},
	}, nil)
	runWebhook(t, w)

	tg.status.Store(500) // fail until told otherwise
	w.Notify(Payload{Model: "m", Route: "predict"})
	testutil.Eventually(t, 10*time.Second, "four attempts fail", func() bool { return w.failed.Load() == 1 })
	sleepMu.Lock()
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}; !slices.Equal(sleeps, want) {
		t.Errorf("backoff sleeps: got %v; want %v (one per retry, doubling)", sleeps, want)
	}
	sleepMu.Unlock()

	tg.status.Store(200)
	now.Add(int64(10 * time.Minute / time.Second))
	w.Notify(Payload{Model: "m", Route: "predict"})
	if got := w.suppressed.Load(); got != 1 {
		t.Errorf("notification within the cooldown: suppressed %d; want 1", got)
	}
	w.Notify(Payload{Model: "m", Route: "other"})
	testutil.Eventually(t, 10*time.Second, "another route is not cooled down", func() bool { return tg.count() == 1 })

	now.Add(int64(21 * time.Minute / time.Second))
	w.Notify(Payload{Model: "m", Route: "predict"})
	testutil.Eventually(t, 10*time.Second, "after the cooldown the route is notified again", func() bool { return tg.count() == 2 })
	tg.mu.Lock()
	defer tg.mu.Unlock()
	for i, s := range tg.sigs {
		if s[:len(s)/2] != s[len(s)/2+1:] {
			t.Errorf("call %d: signature and HMAC of the body differ: %s", i, s)
		}
	}
}

func TestWebhookDeadTargetIsBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/drift"
	_ = ln.Close()
	w := NewWebhook(WebhookOptions{URL: dead, Retries: 2, Queue: 4, Timeout: 100 * time.Millisecond,
		Sleep: func(context.Context, time.Duration) error { return nil }}, nil)
	runWebhook(t, w)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 10000
	for i := range n {
		w.Notify(Payload{Route: string(rune('a' + i%26)), Features: make([]FeatureView, 4)})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if d := w.dropped.Load() + w.suppressed.Load(); d < n-30 {
		t.Errorf("dropped+suppressed: got %d of %d; the queue holds 4 and 26 routes cool down", d, n)
	}
	if growth := int64(after.HeapAlloc) - int64(before.HeapAlloc); growth > 1<<20 {
		t.Errorf("heap grew %d KiB queueing for a dead target", growth>>10)
	}
	testutil.Eventually(t, 10*time.Second, "the queued notifications fail", func() bool { return w.failed.Load() >= 1 })
}
