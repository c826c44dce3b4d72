package demo

import (
	"encoding/json"
	"math"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/driftcar/driftcar/groundtruth"
	"github.com/driftcar/driftcar/groundtruth/perf"
)

// TestLabelerDue: labels leave the queue only when due, oldest first, and
// a full queue drops and counts.
func TestLabelerDue(t *testing.T) {
	t0 := time.Unix(1000, 0)
	now := t0
	l := newLabeler("http://unused")
	l.now = func() time.Time { return now }
	l.Add("a", true)
	l.Add("b", false)
	now = t0.Add(time.Second)
	l.Add("c", true)
	if got := l.due(t0.Add(LabelDelay-time.Millisecond), nil); len(got) != 0 {
		t.Fatalf("before the delay: got %d labels; want 0", len(got))
	}
	got := l.due(t0.Add(LabelDelay), nil)
	if len(got) != 2 || got[0].id != "a" || got[1].id != "b" || !got[0].approve || got[1].approve {
		t.Fatalf("at the delay: got %+v; want a (approve), b (reject)", got)
	}
	if got := l.due(t0.Add(LabelDelay+time.Second), nil); len(got) != 1 || got[0].id != "c" {
		t.Fatalf("a second later: got %+v; want c", got)
	}
	for range maxPending + 3 {
		l.Add("x", true)
	}
	if d := l.counts().Dropped; d != 3 {
		t.Errorf("dropped: got %d; want 3", d)
	}
	if got := l.due(now.Add(LabelDelay), nil); len(got) != maxBatch {
		t.Errorf("one batch: got %d labels; want %d", len(got), maxBatch)
	}
}

// TestLabelerPosts sends a batch to the real feedback handler over
// loopback: a label whose prediction is in the join table is joined, one
// without is unmatched, and the body is what the handler reads.
func TestLabelerPosts(t *testing.T) {
	spec, err := perf.Spec{Kind: perf.Categorical, Classes: decisions}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	table, err := groundtruth.NewTable(groundtruth.TableOptions{MaxEntries: 16, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	table.PutLive([]byte("w1-1"), 0, 0, []groundtruth.Pred{{Predicted: 1, Score: math.NaN()}})
	var actual []float64
	fb, err := groundtruth.NewFeedback(groundtruth.FeedbackOptions{
		Table: table, ParseLabel: spec.ParseLabel, Registerer: prometheus.NewRegistry(),
		OnJoin: func(_ *groundtruth.Entry, a float64, _ time.Time) { actual = append(actual, a) },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fb)
	defer srv.Close()
	l := newLabeler(srv.URL)
	defer l.client.CloseIdleConnections()
	batch := []pendingLabel{{id: "w1-1", approve: true}, {id: "w9-9", approve: false}}
	body := feedbackBody(nil, batch)
	if !json.Valid(body) {
		t.Fatalf("body is not JSON: %s", body)
	}
	l.post(body, uint64(len(batch)))
	c := l.counts()
	if c.Sent != 2 || c.Joined != 1 || c.Unmatched != 1 || c.Failed != 0 || c.Invalid != 0 {
		t.Errorf("counts: got %+v; want 2 sent, 1 joined, 1 unmatched", c)
	}
	if len(actual) != 1 || actual[0] != 1 {
		t.Errorf("joined labels: got %v; want [1] (approve)", actual)
	}
}
