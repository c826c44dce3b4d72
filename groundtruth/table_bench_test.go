package groundtruth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Sink keeps benchmark results alive.
var Sink atomic.Uint64

const benchEntries = 1_000_000

func benchIDs(n int) [][]byte {
	ids := make([][]byte, n)
	for i := range ids {
		ids[i] = fmt.Appendf(nil, "%016x", uint64(i)*0x9e3779b97f4a7c15)
	}
	return ids
}

func BenchmarkPutLive(b *testing.B) {
	clock := newTestClock()
	tab := newTestTable(b, benchEntries, time.Hour, clock)
	ids, row := benchIDs(benchEntries), []Pred{{1, 0.9}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		tab.PutLive(ids[i%len(ids)], 0, 1, row)
	}
	Sink.Add(uint64(tab.Len()))
}

func BenchmarkLabel(b *testing.B) {
	clock := newTestClock()
	ids, row := benchIDs(benchEntries), []Pred{{1, 0.9}}
	var tab *Table
	at := clock.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%len(ids) == 0 {
			b.StopTimer()
			tab = newTestTable(b, benchEntries, time.Hour, clock)
			for _, id := range ids {
				tab.PutLive(id, 0, 1, row)
			}
			b.StartTimer()
		}
		e, res := tab.Label(ids[i%len(ids)], 0, at)
		if res != Joined {
			b.Fatalf("label %d: %s; want joined", i, res)
		}
		Sink.Add(uint64(e.Arm))
	}
}

// BenchmarkFeedbackApply decodes JSON bodies of 1000 items and joins
// them all; ns/label is the cost of one label, parse included.
func BenchmarkFeedbackApply(b *testing.B) {
	const perBody, bodies = 1000, 100
	clock := newTestClock()
	ids := benchIDs(perBody * bodies)
	body := labelBodies(ids, perBody)
	parse := func(raw []byte) (float64, error) { return strconv.ParseFloat(string(raw), 64) }
	var fb *Feedback
	row := []Pred{{1, 0.9}}
	var joined int
	b.ReportAllocs()
	b.SetBytes(int64(len(body[0])))
	b.ResetTimer()
	for i := range b.N {
		if i%bodies == 0 {
			b.StopTimer()
			tab := newTestTable(b, benchEntries, time.Hour, clock)
			for _, id := range ids {
				tab.PutLive(id, 0, 1, row)
			}
			var err error
			fb, err = NewFeedback(FeedbackOptions{
				Table: tab, ParseLabel: parse, Registerer: prometheus.NewRegistry(), RouteNames: []string{"r"},
				OnJoin: func(e *Entry, actual float64, _ time.Time) { joined++ }, Now: clock.Now,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		items, err := decodeJSONBody(body[i%bodies])
		if err != nil {
			b.Fatal(err)
		}
		if a := fb.Apply(items); a.Joined != perBody {
			b.Fatalf("body %d: %+v; want %d joined", i, a, perBody)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perBody), "ns/label")
	b.ReportMetric(0, "ns/op")
	Sink.Add(uint64(joined))
}

// BenchmarkFeedbackHTTP posts NDJSON bodies of 1000 labels to ServeHTTP
// over loopback; ns/label includes the HTTP round trip.
func BenchmarkFeedbackHTTP(b *testing.B) {
	const perBody, bodies = 1000, 100
	clock := newTestClock()
	ids := benchIDs(perBody * bodies)
	body := make([]string, bodies)
	for r := range body {
		var sb strings.Builder
		for j := range perBody {
			fmt.Fprintf(&sb, "{\"request_id\":%q,\"label\":%d}\n", ids[r*perBody+j], j%2)
		}
		body[r] = sb.String()
	}
	parse := func(raw []byte) (float64, error) { return strconv.ParseFloat(string(raw), 64) }
	var fb *Feedback
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fb.ServeHTTP(w, r) }))
	defer srv.Close()
	row := []Pred{{1, 0.9}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%bodies == 0 {
			b.StopTimer()
			tab := newTestTable(b, benchEntries, time.Hour, clock)
			for _, id := range ids {
				tab.PutLive(id, 0, 1, row)
			}
			var err error
			fb, err = NewFeedback(FeedbackOptions{Table: tab, ParseLabel: parse, Registerer: prometheus.NewRegistry(), Now: clock.Now})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		resp, err := http.Post(srv.URL, "application/x-ndjson", strings.NewReader(body[i%bodies]))
		if err != nil {
			b.Fatal(err)
		}
		var a Answer
		err = json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		if err != nil || a.Joined != perBody {
			b.Fatalf("body %d: %+v, %v; want %d joined", i, a, err, perBody)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perBody), "ns/label")
	b.ReportMetric(0, "ns/op")
}
