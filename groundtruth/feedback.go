package groundtruth

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// DefaultMaxBody is the largest feedback body taken by default.
const DefaultMaxBody = 8 << 20

// maxListedInvalid caps Answer.Invalid; the rest are only counted.
const maxListedInvalid = 100

// errRowNotStored is the table's refusal of a row the checks let pass.
var errRowNotStored = errors.New("row: past what the table stores")

// Item is one label: the request id and row it is for, the label as
// sent, and when it was observed (zero means now).
type Item struct {
	RequestID string
	Row       int
	Label     json.RawMessage
	Time      time.Time

	// decodeErr is why the item could not be read; Apply counts it
	// invalid.
	decodeErr error
}

// Answer counts what became of each item of a batch.
type Answer struct {
	Joined    int           `json:"joined"`
	Unmatched int           `json:"unmatched"`
	Expired   int           `json:"expired"`
	Duplicate int           `json:"duplicate"`
	Invalid   []InvalidItem `json:"invalid"`
	// InvalidOmitted counts the invalid items past the first 100, which
	// Invalid does not list.
	InvalidOmitted int `json:"invalid_omitted,omitempty"`
}

// InvalidItem names a rejected item by its index in the batch.
type InvalidItem struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// FeedbackOptions configure a Feedback.
type FeedbackOptions struct {
	// Table is the join; required.
	Table *Table
	// ParseLabel is the route's label rule: it turns a label as sent
	// into the actual value; required.
	ParseLabel func(raw []byte) (float64, error)
	// OnJoin, when set, is called for each joined label on the caller's
	// goroutine, without locks held. It must not keep e.
	OnJoin func(e *Entry, actual float64, at time.Time)
	// RouteNames maps a route index to its name, for metrics; an index
	// past it shows as "unknown".
	RouteNames []string
	// MaxBody is the largest HTTP body taken (default DefaultMaxBody).
	MaxBody int64
	// MaxRows makes a row at or past it invalid (default and at most
	// MaxRowsPerRequest).
	MaxRows int
	// Registerer takes the metrics; required.
	Registerer prometheus.Registerer
	// Logger defaults to zap.NewNop().
	Logger *zap.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Feedback takes labels from the HTTP API and Kafka, joins them in the
// table and counts every one.
type Feedback struct {
	table      *Table
	parseLabel func([]byte) (float64, error)
	onJoin     func(*Entry, float64, time.Time)
	maxBody    int64
	maxRows    int
	log        *zap.Logger
	now        func() time.Time
	metrics    *labelMetrics
}

// NewFeedback checks o and registers the label and table metrics.
func NewFeedback(o FeedbackOptions) (*Feedback, error) {
	var errs []error
	if o.Table == nil {
		errs = append(errs, errors.New("table: required"))
	}
	if o.ParseLabel == nil {
		errs = append(errs, errors.New("parse_label: required"))
	}
	if o.Registerer == nil {
		errs = append(errs, errors.New("registerer: required"))
	}
	if o.MaxBody < 0 {
		errs = append(errs, fmt.Errorf("max_body: must be >= 0, got %d", o.MaxBody))
	}
	if o.MaxRows < 0 || o.MaxRows > MaxRowsPerRequest {
		errs = append(errs, fmt.Errorf("max_rows: must be in 0..%d, got %d", MaxRowsPerRequest, o.MaxRows))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("cannot build feedback: %w", err)
	}
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxRows == 0 {
		o.MaxRows = MaxRowsPerRequest
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m, err := newLabelMetrics(o.Registerer, o.RouteNames, o.Table)
	if err != nil {
		return nil, err
	}
	return &Feedback{
		table: o.Table, parseLabel: o.ParseLabel, onJoin: o.OnJoin,
		maxBody: o.MaxBody, maxRows: o.MaxRows, log: o.Logger, now: o.Now, metrics: m,
	}, nil
}

// Apply joins each item and answers with the counts; an invalid item is
// named by its index and the others are still taken.
func (f *Feedback) Apply(items []Item) Answer {
	var a Answer
	now := f.now()
	// One entry for the batch: OnJoin may not keep it, and one per item
	// would escape to the heap through the OnJoin call.
	e := new(Entry)
	for i := range items {
		res, route, err := f.apply(&items[i], now, e)
		f.metrics.count(route, res)
		switch res {
		case Joined:
			a.Joined++
		case Unmatched:
			a.Unmatched++
		case Expired:
			a.Expired++
		case Duplicate:
			a.Duplicate++
		default:
			if len(a.Invalid) == maxListedInvalid {
				a.InvalidOmitted++
				continue
			}
			a.Invalid = append(a.Invalid, InvalidItem{Index: i, Error: err.Error()})
		}
	}
	return a
}

// apply joins one item; route is -1 when no entry matched.
func (f *Feedback) apply(it *Item, now time.Time, e *Entry) (Result, int, error) {
	if err := f.check(it); err != nil {
		return Invalid, -1, err
	}
	actual, err := f.parseLabel(it.Label)
	if err != nil {
		return Invalid, -1, fmt.Errorf("label: %w", err)
	}
	at := it.Time
	if at.IsZero() {
		at = now
	}
	var res Result
	*e, res = f.table.labelString(it.RequestID, it.Row, at)
	switch res {
	case Unmatched:
		if it.Row > 0 && f.table.knownString(it.RequestID) {
			return Invalid, -1, fmt.Errorf("row: %d is past the rows of the request's answer", it.Row)
		}
		return res, -1, nil
	case Invalid:
		return res, -1, errRowNotStored
	case Joined:
		if f.onJoin != nil {
			f.onJoin(e, actual, at)
		}
	}
	return res, int(e.Route), nil
}

func (f *Feedback) check(it *Item) error {
	switch {
	case it.decodeErr != nil:
		return it.decodeErr
	case it.RequestID == "":
		return errors.New("request_id: required")
	case it.Row < 0 || it.Row >= f.maxRows:
		return fmt.Errorf("row: must be in 0..%d, got %d", f.maxRows-1, it.Row)
	case len(it.Label) == 0 || string(it.Label) == "null":
		return errors.New("label: required")
	}
	return nil
}
