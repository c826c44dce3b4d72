package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/driftcar/driftcar/groundtruth"
)

// Label feedback of the demo: a share of requests gets its true outcome
// LabelDelay after it was answered, in batches every labelEvery.
const (
	LabelShare  = 0.5
	LabelDelay  = 3 * time.Second
	labelEvery  = 500 * time.Millisecond
	maxPending  = 1 << 14 // labels waiting for their time
	maxBatch    = 1000    // labels in one POST
	postTimeout = 2 * time.Second
)

// pendingLabel is one outcome waiting to be sent.
type pendingLabel struct {
	id      string
	approve bool
	due     time.Time
}

// LabelCounts are the labels the demo sent and what the feedback API
// answered for them.
type LabelCounts struct {
	// Sent counts the labels POSTed; Dropped those the full queue
	// refused; Failed those of POSTs that got no answer.
	Sent, Dropped, Failed uint64
	// Joined, Unmatched, Expired, Duplicate and Invalid are the API's
	// answers, summed.
	Joined, Unmatched, Expired, Duplicate, Invalid uint64
}

// labeler holds the outcomes of labelled requests until they are due and
// posts them to driftcar's feedback API. Add is safe for concurrent use;
// run is one goroutine. The queue is a fixed ring in the order of Add,
// which is the order of due times since every label waits LabelDelay.
type labeler struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu   sync.Mutex
	ring []pendingLabel
	head int // index of the oldest
	n    int

	sent, dropped, failed                          atomic.Uint64
	joined, unmatched, expired, duplicate, invalid atomic.Uint64
}

func newLabeler(admin string) *labeler {
	return &labeler{
		url:    admin + "/api/v1/feedback",
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}},
		now:    time.Now,
		ring:   make([]pendingLabel, maxPending),
	}
}

// Add queues the outcome of request id, due LabelDelay from now; it
// drops it, counted, when the queue is full.
func (l *labeler) Add(id string, approve bool) {
	due := l.now().Add(LabelDelay)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == len(l.ring) {
		l.dropped.Add(1)
		return
	}
	l.ring[(l.head+l.n)%len(l.ring)] = pendingLabel{id: id, approve: approve, due: due}
	l.n++
}

// due moves the labels due by now into batch, at most maxBatch.
func (l *labeler) due(now time.Time, batch []pendingLabel) []pendingLabel {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.n > 0 && len(batch) < maxBatch && !l.ring[l.head].due.After(now) {
		batch = append(batch, l.ring[l.head])
		l.ring[l.head] = pendingLabel{}
		l.head = (l.head + 1) % len(l.ring)
		l.n--
	}
	return batch
}

// run posts the due labels every labelEvery until ctx ends; a post under
// way then finishes (within postTimeout), the labels still waiting are
// not sent.
func (l *labeler) run(ctx context.Context) {
	tick := time.NewTicker(labelEvery)
	defer tick.Stop()
	defer l.client.CloseIdleConnections()
	batch := make([]pendingLabel, 0, maxBatch)
	var body []byte
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			for batch = l.due(now, batch[:0]); len(batch) > 0; batch = l.due(now, batch[:0]) {
				body = feedbackBody(body[:0], batch)
				l.post(body, uint64(len(batch)))
			}
		}
	}
}

// feedbackBody is {"items":[{"request_id":…,"label":…},…]}.
func feedbackBody(b []byte, batch []pendingLabel) []byte {
	b = append(b, `{"items":[`...)
	for i, p := range batch {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"request_id":`...)
		b = strconv.AppendQuote(b, p.id)
		b = append(b, `,"label":"`...)
		b = append(b, decisionName(p.approve)...)
		b = append(b, `"}`...)
	}
	return append(b, "]}"...)
}

func decisionName(approve bool) string {
	if approve {
		return "approve"
	}
	return "reject"
}

func (l *labeler) post(body []byte, n uint64) {
	l.sent.Add(n)
	a, err := l.postBatch(body)
	if err != nil {
		l.failed.Add(n)
		return
	}
	l.joined.Add(uint64(a.Joined))
	l.unmatched.Add(uint64(a.Unmatched))
	l.expired.Add(uint64(a.Expired))
	l.duplicate.Add(uint64(a.Duplicate))
	l.invalid.Add(uint64(len(a.Invalid) + a.InvalidOmitted))
}

func (l *labeler) postBatch(body []byte) (*groundtruth.Answer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), postTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("cannot build the feedback request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot post labels: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("feedback answered %s", resp.Status)
	}
	var a groundtruth.Answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return nil, fmt.Errorf("cannot read the feedback answer: %w", err)
	}
	return &a, nil
}

func (l *labeler) counts() LabelCounts {
	return LabelCounts{
		Sent: l.sent.Load(), Dropped: l.dropped.Load(), Failed: l.failed.Load(),
		Joined: l.joined.Load(), Unmatched: l.unmatched.Load(), Expired: l.expired.Load(),
		Duplicate: l.duplicate.Load(), Invalid: l.invalid.Load(),
	}
}
