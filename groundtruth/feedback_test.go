package groundtruth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftcar/driftcar/internal/testutil"
)

// parseBinary is a label rule for the tests: 0, 1, "no" or "yes".
func parseBinary(raw []byte) (float64, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fmt.Errorf("cannot parse: %w", err)
	}
	switch v {
	case 0.0, "no":
		return 0, nil
	case 1.0, "yes":
		return 1, nil
	}
	return 0, fmt.Errorf("want 0, 1, \"no\" or \"yes\", got %s", raw)
}

// join is one OnJoin call.
type join struct {
	e      Entry
	actual float64
	at     time.Time
}

type feedbackFixture struct {
	clock *testClock
	table *Table
	fb    *Feedback
	reg   *prometheus.Registry
	srv   *httptest.Server

	mu    sync.Mutex
	joins []join
}

func newFeedbackFixture(t testing.TB, maxEntries int, o FeedbackOptions) *feedbackFixture {
	t.Helper()
	fx := &feedbackFixture{clock: newTestClock(), reg: prometheus.NewPedanticRegistry()}
	fx.table = newTestTable(t, maxEntries, time.Hour, fx.clock)
	o.Table, o.Registerer, o.Now, o.Logger = fx.table, fx.reg, fx.clock.Now, zap.NewNop()
	o.ParseLabel = parseBinary
	o.RouteNames = []string{"credit", "fraud"}
	o.OnJoin = func(e *Entry, actual float64, at time.Time) {
		fx.mu.Lock()
		fx.joins = append(fx.joins, join{*e, actual, at})
		fx.mu.Unlock()
	}
	fb, err := NewFeedback(o)
	if err != nil {
		t.Fatal(err)
	}
	fx.fb = fb
	fx.srv = httptest.NewServer(fb)
	t.Cleanup(fx.srv.Close)
	return fx
}

// post sends body and returns the status and the decoded JSON answer.
func (fx *feedbackFixture) post(t *testing.T, contentType, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(fx.srv.URL+"/api/v1/feedback", contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q; want application/json", ct)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer %q is not JSON: %v", raw, err)
	}
	return resp.StatusCode, out
}

// answer posts body and decodes a 200 answer.
func (fx *feedbackFixture) answer(t *testing.T, contentType, body string) Answer {
	t.Helper()
	status, out := fx.post(t, contentType, body)
	if status != http.StatusOK {
		t.Fatalf("status %d (%v); want 200", status, out)
	}
	raw, _ := json.Marshal(out)
	var a Answer
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	if out["invalid"] == nil {
		t.Errorf("answer %s has no invalid list; want [] at least", raw)
	}
	return a
}

// labels reads driftcar_labels_total{route,result}.
func (fx *feedbackFixture) labels(t *testing.T, route, result string) float64 {
	t.Helper()
	return testutil.MetricValue(t, fx.reg, "driftcar_labels_total", map[string]string{"route": route, "result": result})
}

func TestFeedbackJSONAndNDJSON(t *testing.T) {
	fx := newFeedbackFixture(t, 100, FeedbackOptions{})
	fx.table.PutLive([]byte("a"), 0, 1, []Pred{{1, 0.8}, {0, 0.3}})
	fx.table.PutShadow([]byte("a"), 0, []Pred{{1, 0.6}, {1, 0.7}})
	fx.table.PutLive([]byte("b"), 1, 0, []Pred{{0, 0.1}})
	fx.clock.Advance(time.Minute)

	a := fx.answer(t, "application/json", `{"items": [
		{"request_id": "a", "row": 0, "label": 1, "time": "2026-03-01T12:00:30Z"},
		{"request_id": "a", "row": 1, "label": "no"},
		{"request_id": "zzz", "label": 0}
	]}`)
	if a.Joined != 2 || a.Unmatched != 1 || len(a.Invalid) != 0 {
		t.Errorf("JSON answer %+v; want 2 joined, 1 unmatched", a)
	}
	a = fx.answer(t, "application/x-ndjson; charset=utf-8", "{\"request_id\":\"b\",\"label\":\"yes\"}\n\n{\"request_id\":\"a\",\"row\":1,\"label\":0}\n")
	if a.Joined != 1 || a.Duplicate != 1 {
		t.Errorf("NDJSON answer %+v; want 1 joined, 1 duplicate", a)
	}

	fx.mu.Lock()
	defer fx.mu.Unlock()
	if len(fx.joins) != 3 {
		t.Fatalf("%d OnJoin calls; want 3", len(fx.joins))
	}
	first := fx.joins[0]
	if first.actual != 1 || first.e.Live != (Pred{1, 0.8}) || first.e.Shadow != (Pred{1, 0.6}) || first.e.Arm != 1 ||
		!first.at.Equal(time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)) {
		t.Errorf("first join %+v; want actual 1, live {1 0.8}, shadow {1 0.6}, arm 1, at the item's time", first)
	}
	if second := fx.joins[1]; second.actual != 0 || !second.at.Equal(fx.clock.Now()) {
		t.Errorf("second join %+v; want actual 0 at now (no time given)", second)
	}
	if third := fx.joins[2]; third.e.Route != 1 || third.actual != 1 {
		t.Errorf("third join %+v; want route 1, actual 1", third)
	}
	for _, tc := range []struct {
		route, result string
		want          float64
	}{
		{"credit", "joined", 2}, {"fraud", "joined", 1}, {"credit", "duplicate", 1},
		{"unknown", "unmatched", 1}, {"credit", "unmatched", 0}, {"unknown", "invalid", 0},
	} {
		if got := fx.labels(t, tc.route, tc.result); got != tc.want {
			t.Errorf("driftcar_labels_total{route=%q,result=%q} = %v; want %v", tc.route, tc.result, got, tc.want)
		}
	}
}

// TestFeedbackBadItems: each bad item is named with its index and
// reason, and the good ones around it are still joined.
func TestFeedbackBadItems(t *testing.T) {
	fx := newFeedbackFixture(t, 100, FeedbackOptions{MaxRows: 8})
	fx.table.PutLive([]byte("ok"), 0, 0, preds(4))
	body := `{"items": [
		{"request_id": "ok", "row": 0, "label": 1},
		{"request_id": "ok", "row": 1, "label": 1, "extra": true},
		{"row": 1, "label": 1},
		{"request_id": "ok", "row": -1, "label": 1},
		{"request_id": "ok", "row": 9, "label": 1},
		{"request_id": "ok", "row": 1, "label": "maybe"},
		{"request_id": "ok", "row": 1, "label": 1, "time": "yesterday"},
		{"request_id": "ok", "row": 1},
		{"request_id": "ok", "row": 1.5, "label": 1},
		{"request_id": 7, "row": 1, "label": 1},
		"ok",
		{"request_id": "ok", "row": 1, "label": null},
		{"request_id": "ok", "row": 3, "label": 0},
		{"request_id": "ok", "row": 5, "label": 0},
		{"request_id": "unknown", "row": 5, "label": 0}
	]}`
	a := fx.answer(t, "application/json", body)
	want := []struct {
		index int
		error string
	}{
		{1, `unknown field "extra"`},
		{2, "request_id: required"},
		{3, "row: must be in 0..7, got -1"},
		{4, "row: must be in 0..7, got 9"},
		{5, `label: want 0, 1, "no" or "yes", got "maybe"`},
		{6, "time: must be RFC 3339"},
		{7, "label: required"},
		{8, "row: must be an integer, got a JSON number 1.5"},
		{9, "request_id: must be a string, got a JSON number"},
		{10, "item: must be an object, got a JSON string"},
		{11, "label: required"},
		{13, "row: 5 is past the rows of the request's answer"},
	}
	if a.Joined != 2 || len(a.Invalid) != len(want) {
		t.Fatalf("answer %+v; want 2 joined and %d invalid", a, len(want))
	}
	for i, w := range want {
		if got := a.Invalid[i]; got.Index != w.index || !strings.Contains(got.Error, w.error) {
			t.Errorf("invalid[%d] = %+v; want index %d, error containing %q", i, got, w.index, w.error)
		}
	}
	if got := fx.labels(t, "unknown", "invalid"); got != float64(len(want)) {
		t.Errorf("invalid labels counted %v; want %d", got, len(want))
	}
	// The invalid items did not claim row 1: it still joins.
	if _, res := fx.table.Label([]byte("ok"), 1, fx.clock.Now()); res != Joined {
		t.Errorf("row 1 after the bad items: %s; want joined", res)
	}
}

func TestFeedbackInvalidListCapped(t *testing.T) {
	fx := newFeedbackFixture(t, 100, FeedbackOptions{})
	items := strings.Repeat(`{"label": 1},`, maxListedInvalid+5)
	a := fx.answer(t, "application/json", `{"items": [`+strings.TrimSuffix(items, ",")+`]}`)
	if len(a.Invalid) != maxListedInvalid || a.InvalidOmitted != 5 {
		t.Errorf("%d listed, %d omitted; want %d and 5", len(a.Invalid), a.InvalidOmitted, maxListedInvalid)
	}
	if got := fx.labels(t, "unknown", "invalid"); got != maxListedInvalid+5 {
		t.Errorf("invalid labels counted %v; want %d", got, maxListedInvalid+5)
	}
}

func TestFeedbackRefusedBodies(t *testing.T) {
	fx := newFeedbackFixture(t, 100, FeedbackOptions{MaxBody: 256})
	big := `{"items": [` + strings.Repeat(`{"request_id": "x", "label": 1},`, 20) + `{"request_id": "x", "label": 1}]}`
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		error                   string
	}{
		{"over max_body", "application/json", big, http.StatusRequestEntityTooLarge, "over the 256-byte limit (max_body)"},
		{"truncated", "application/json", `{"items": [{"request_id": "x"`, http.StatusBadRequest, "offset"},
		{"bad syntax", "application/json", `{"items": [{"request_id" "x"}]}`, http.StatusBadRequest, "offset 26: invalid character"},
		{"trailing data", "application/json", `{"items": []} {}`, http.StatusBadRequest, "data after the top-level object"},
		{"unknown top-level field", "application/json", `{"items": [], "labels": []}`, http.StatusBadRequest, `unknown field "labels"`},
		{"no items", "application/json", `{}`, http.StatusBadRequest, "items: required"},
		{"items not an array", "application/json", `{"items": 3}`, http.StatusBadRequest, "items: must be an array"},
		{"not an object", "application/json", `[1]`, http.StatusBadRequest, "body: must be an object"},
		{"ndjson bad line", "application/x-ndjson", "{\"request_id\":\"x\",\"label\":1}\n{\"request_id\":\n", http.StatusBadRequest, "line 2"},
		{"wrong type", "text/plain", `{"items": []}`, http.StatusUnsupportedMediaType, "want application/json or application/x-ndjson"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := fx.post(t, tc.contentType, tc.body)
			if msg, _ := out["error"].(string); status != tc.status || !strings.Contains(msg, tc.error) {
				t.Errorf("status %d, %v; want %d with an error containing %q", status, out, tc.status, tc.error)
			}
		})
	}
	if got := fx.labels(t, "unknown", "unmatched"); got != 0 {
		t.Errorf("refused bodies counted %v unmatched labels; want none taken", got)
	}

	resp, err := http.Get(fx.srv.URL + "/api/v1/feedback")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d, Allow %q; want 405, Allow POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestFeedbackDuplicates(t *testing.T) {
	fx := newFeedbackFixture(t, 100, FeedbackOptions{})
	fx.table.PutLive([]byte("d"), 1, 0, preds(2))
	a := fx.answer(t, "application/json", `{"items": [
		{"request_id": "d", "label": 1}, {"request_id": "d", "label": 0}, {"request_id": "d", "row": 1, "label": 0}]}`)
	if a.Joined != 2 || a.Duplicate != 1 {
		t.Errorf("one batch: %+v; want 2 joined, 1 duplicate", a)
	}
	a = fx.answer(t, "application/x-ndjson", `{"request_id": "d", "row": 1, "label": 1}`)
	if a.Joined != 0 || a.Duplicate != 1 {
		t.Errorf("next batch: %+v; want 1 duplicate", a)
	}
	if got := fx.labels(t, "fraud", "duplicate"); got != 2 {
		t.Errorf("duplicates counted %v on route fraud; want 2", got)
	}
	if len(fx.joins) != 2 || fx.joins[0].actual != 1 {
		t.Errorf("OnJoin calls %+v; want 2, the first with actual 1", fx.joins)
	}
}

func TestFeedbackExpired(t *testing.T) {
	fx := newFeedbackFixture(t, 100, FeedbackOptions{})
	fx.table.PutLive([]byte("e"), 0, 0, preds(3))
	fx.clock.Advance(30 * time.Minute)
	a := fx.answer(t, "application/json", `{"items": [
		{"request_id": "e", "row": 0, "label": 1, "time": "2026-03-01T13:00:01Z"},
		{"request_id": "e", "row": 1, "label": 1, "time": "2026-03-01T12:59:59Z"}]}`)
	if a.Expired != 1 || a.Joined != 1 {
		t.Errorf("labels observed past and within the TTL: %+v; want 1 expired, 1 joined", a)
	}
	fx.clock.Advance(31 * time.Minute)
	a = fx.answer(t, "application/json", `{"items": [{"request_id": "e", "row": 2, "label": 1}]}`)
	if a.Expired != 1 {
		t.Errorf("label after the TTL: %+v; want expired", a)
	}
	if got := fx.labels(t, "credit", "expired"); got != 2 {
		t.Errorf("expired counted %v on route credit; want 2", got)
	}
	if got := testutil.MetricValue(t, fx.reg, "driftcar_ground_truth_entries", nil); got != 0 {
		t.Errorf("driftcar_ground_truth_entries = %v; want 0 past the TTL", got)
	}
}

func TestFeedbackEvictedWhenFull(t *testing.T) {
	fx := newFeedbackFixture(t, 8, FeedbackOptions{})
	for i := range 10 {
		fx.table.PutLive(reqID(i), 0, 0, preds(1))
	}
	a := fx.answer(t, "application/json", `{"items": [{"request_id": "req-0", "label": 1}, {"request_id": "req-2", "label": 1}]}`)
	if a.Unmatched != 1 || a.Joined != 1 {
		t.Errorf("answer %+v; want the evicted req-0 unmatched, req-2 joined", a)
	}
	if got := testutil.MetricValue(t, fx.reg, "driftcar_ground_truth_evicted_total", nil); got != 2 {
		t.Errorf("driftcar_ground_truth_evicted_total = %v; want 2", got)
	}
	if got := testutil.MetricValue(t, fx.reg, "driftcar_ground_truth_entries", nil); got != 8 {
		t.Errorf("driftcar_ground_truth_entries = %v; want 8", got)
	}
}

func TestNewFeedbackRejects(t *testing.T) {
	_, err := NewFeedback(FeedbackOptions{MaxRows: MaxRowsPerRequest + 1})
	for _, want := range []string{"table: required", "parse_label: required", "registerer: required", "max_rows: must be in 0..256"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewFeedback error %v; want it to contain %q", err, want)
		}
	}
	// A second Feedback on the same registry is refused, not a panic.
	fx := newFeedbackFixture(t, 10, FeedbackOptions{})
	_, err = NewFeedback(FeedbackOptions{Table: fx.table, ParseLabel: parseBinary, Registerer: fx.reg})
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("second NewFeedback on one registry: %v; want AlreadyRegisteredError", err)
	}
}
