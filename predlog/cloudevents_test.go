package predlog

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/protocol"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/driftcar/driftcar/internal/testutil"
)

// received is one event with the raw headers it came with.
type received struct {
	event  cloudevents.Event
	header http.Header
}

// ceReceiver is a CloudEvents SDK receiver on loopback. It answers 500 to
// the first failFirst events.
type ceReceiver struct {
	url       string
	mu        sync.Mutex
	events    []received
	failFirst atomic.Int32
}

func startReceiver(t *testing.T) *ceReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rc := &ceReceiver{url: "http://" + ln.Addr().String() + "/"}
	headers := make(chan http.Header, 1)
	var hmu sync.Mutex // pairs a request's headers with its event
	mw := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hmu.Lock()
			defer hmu.Unlock()
			headers <- r.Header.Clone()
			next.ServeHTTP(w, r)
		})
	}
	c, err := cloudevents.NewClientHTTP(cehttp.WithListener(ln), cehttp.WithMiddleware(mw))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.StartReceiver(ctx, func(_ context.Context, e cloudevents.Event) protocol.Result {
			h := <-headers
			if rc.failFirst.Add(-1) >= 0 {
				return cehttp.NewResult(http.StatusInternalServerError, "refused for the test")
			}
			rc.mu.Lock()
			rc.events = append(rc.events, received{e, h})
			rc.mu.Unlock()
			return cloudevents.ResultACK
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return rc
}

func (rc *ceReceiver) got() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.events...)
}

func TestCloudEventsSink(t *testing.T) {
	rc := startReceiver(t)
	rc.failFirst.Store(2) // the first batch fails and is retried
	sink, err := NewCloudEventsSink(CloudEventsOptions{
		URL: rc.url, Source: "http://driftcar.default.svc/", Mode: ModeBoth,
		InferenceService: "credit-risk-isvc", Namespace: "ml", Component: "predictor",
		Headers: map[string]string{"Authorization": "Bearer t0k"},
	})
	if err != nil {
		t.Fatal(err)
	}
	l, m := newTestLog(t, SinkSpec{Name: "kserve", Sink: sink, Queue: QueueOptions{BatchSize: 4, Backoff: fastRetry}})
	const n = 6
	for i := range n {
		r := l.Acquire()
		fill(r, i)
		r.Canary = i%2 == 1
		if !l.Offer(r) {
			t.Fatalf("Offer %d dropped", i)
		}
	}
	testutil.Eventually(t, 10*time.Second, "all events received", func() bool { return len(rc.got()) == 3*n })
	if err := closeLog(t, l, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if c := readCounts(m, "kserve"); c.written != n || c.failed == 0 || c.droppedTotal() != 0 {
		t.Errorf("counts %+v; want %d written after failed attempts, none dropped", c, n)
	}
	if err := sink.Ready(); err != nil {
		t.Errorf("Ready after success: %v", err)
	}
	seen := map[string]int{}
	for _, ev := range rc.got() {
		e, h := ev.event, ev.header
		seen[e.ID()+" "+e.Type()]++
		var i int
		if _, err := fmtSscan(e.ID(), &i); err != nil {
			t.Fatalf("ce-id %q is not a request id: %v", e.ID(), err)
		}
		want := &Record{}
		fill(want, i)
		endpoint := "default"
		if i%2 == 1 {
			endpoint = "canary"
		}
		if h.Get("Ce-Id") != e.ID() || h.Get("Ce-Specversion") != "1.0" {
			t.Errorf("not binary mode: headers %v", h)
		}
		if h.Get("Authorization") != "Bearer t0k" {
			t.Errorf("Authorization %q; want the configured header", h.Get("Authorization"))
		}
		if e.Source() != "http://driftcar.default.svc/" || !e.Time().Equal(want.Time) {
			t.Errorf("%s: source %q time %v; want the configured source and record time %v", e.ID(), e.Source(), e.Time(), want.Time)
		}
		for k, v := range map[string]string{"inferenceservicename": "credit-risk-isvc", "namespace": "ml", "component": "predictor", "endpoint": endpoint} {
			if got, _ := e.Extensions()[k].(string); got != v {
				t.Errorf("%s %s: extension %s = %q; want %q", e.ID(), e.Type(), k, got, v)
			}
		}
		if e.DataContentType() != "application/json" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Errorf("%s: content type %q / %q; want application/json", e.ID(), e.DataContentType(), h.Get("Content-Type"))
		}
		switch e.Type() {
		case EventTypeRequest:
			if string(e.Data()) != string(want.RequestBody) {
				t.Errorf("request data %s; want %s", e.Data(), want.RequestBody)
			}
		case EventTypeResponse:
			if string(e.Data()) != string(want.ResponseBody) {
				t.Errorf("response data %s; want %s", e.Data(), want.ResponseBody)
			}
		case EventTypePrediction:
			want.Canary = i%2 == 1
			var got, exp map[string]any
			if err := json.Unmarshal(e.Data(), &got); err != nil {
				t.Fatalf("combined data: %v", err)
			}
			_ = json.Unmarshal(want.AppendJSON(nil), &exp)
			if !jsonEqual(got, exp) {
				t.Errorf("combined data %s; want %s", e.Data(), want.AppendJSON(nil))
			}
		default:
			t.Errorf("unexpected type %q", e.Type())
		}
	}
	for k, v := range seen {
		if v != 1 {
			t.Errorf("%s received %d times; want once (failed events are not stored)", k, v)
		}
	}
	if len(seen) != 3*n {
		t.Errorf("%d distinct events; want %d", len(seen), 3*n)
	}
}

func TestCloudEventsModes(t *testing.T) {
	for _, tc := range []struct {
		mode  string
		types []string
	}{
		{ModeKServe, []string{EventTypeRequest, EventTypeResponse}},
		{ModeCombined, []string{EventTypePrediction}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			rc := startReceiver(t)
			sink, err := NewCloudEventsSink(CloudEventsOptions{URL: rc.url, Mode: tc.mode})
			if err != nil {
				t.Fatal(err)
			}
			r := &Record{}
			fill(r, 1)
			if err := sink.Write(context.Background(), []*Record{r}); err != nil {
				t.Fatal(err)
			}
			got := rc.got()
			if len(got) != len(tc.types) {
				t.Fatalf("%d events; want %d", len(got), len(tc.types))
			}
			for i, e := range got {
				if e.event.Type() != tc.types[i] || e.event.Source() != "driftcar" {
					t.Errorf("event %d: type %q source %q; want %q, driftcar", i, e.event.Type(), e.event.Source(), tc.types[i])
				}
				if isvc, _ := e.event.Extensions()["inferenceservicename"].(string); isvc != "credit-risk" {
					t.Errorf("inferenceservicename %q; want the model", isvc)
				}
			}
		})
	}
}

// TestCloudEventsHungReceiver: a receiver that never answers costs
// counted drops, never a blocked Offer, and the queue stays bounded.
func TestCloudEventsHungReceiver(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	sink, err := NewCloudEventsSink(CloudEventsOptions{URL: srv.URL, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	q := QueueOptions{MaxRecords: 100, MaxBytes: 1 << 20, BatchSize: 10, WriteTimeout: time.Minute}
	l, m := newTestLog(t, SinkSpec{Name: "hung", Sink: sink, Queue: q})
	const n = 20000
	start := time.Now()
	var slowest time.Duration
	for i := range n {
		r := l.Acquire()
		fill(r, i)
		t0 := time.Now()
		l.Offer(r)
		slowest = max(slowest, time.Since(t0))
		if d := l.runners[0].depth.Load(); d > int64(q.MaxRecords+q.BatchSize) {
			t.Fatalf("depth %d above the queue bound %d", d, q.MaxRecords+q.BatchSize)
		}
		if b := l.runners[0].bytes.Load(); b > q.MaxBytes {
			t.Fatalf("queued bytes %d above MaxBytes %d", b, q.MaxBytes)
		}
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("%d Offers took %v; want them non-blocking", n, el)
	}
	t.Logf("%d offers in %v, slowest %v", n, time.Since(start), slowest)
	c := readCounts(m, "hung")
	if c.written != 0 || c.dropped[ReasonQueueFull] < n-float64(q.MaxRecords+q.BatchSize) {
		t.Errorf("counts %+v; want >= %d queue_full drops", c, n-q.MaxRecords-q.BatchSize)
	}
	if err := closeLog(t, l, 100*time.Millisecond); err == nil {
		t.Errorf("Close: nil; want a deadline error")
	}
	if c := readCounts(m, "hung"); c.written+c.droppedTotal() != n {
		t.Errorf("counts %+v; want written+dropped = %d", c, n)
	}
}

func TestCloudEventsOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    CloudEventsOptions
		want string
	}{
		{"no url", CloudEventsOptions{}, "url: required"},
		{"bad url", CloudEventsOptions{URL: "http://[::1"}, "url: "},
		{"no scheme", CloudEventsOptions{URL: "logger.default.svc"}, "url: "},
		{"mode", CloudEventsOptions{URL: "http://x/", Mode: "structured"}, `mode: unknown "structured"`},
		{"timeout", CloudEventsOptions{URL: "http://x/", Timeout: -1}, "timeout: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
	if err := (CloudEventsOptions{URL: "https://logger.ml.svc:8443/events"}).Validate(); err != nil {
		t.Errorf("valid options: %v", err)
	}
}
