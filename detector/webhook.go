package detector

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftcar/driftcar/internal/backoff"
)

// WebhookOptions configure the retraining webhook.
type WebhookOptions struct {
	URL string
	// Secret keys the HMAC-SHA256 of the body, sent hex-encoded in
	// X-Driftcar-Signature as "sha256=<hex>". Empty sends no signature.
	Secret []byte
	// Cooldown is the least time between two notifications of a route.
	Cooldown time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	// Retries after a failed attempt; backoff starts at Backoff (default
	// 1s) and doubles, capped at 1 minute.
	Retries int
	Backoff time.Duration
	// Queue bounds the notifications waiting to be sent. Default 16.
	Queue int
	// Now is the clock of the cooldown. Default time.Now.
	Now func() time.Time
	// Sleep waits between retries; tests may replace it. Default: a timer
	// that also ends with the sender's context.
	Sleep func(context.Context, time.Duration) error
	// Format shapes the request; Target holds what its preset needs.
	// Default FormatJSON.
	Format Format
	Target Target
	// Auth adds credentials to every attempt. The signature of Secret is
	// sent either way.
	Auth Auth
	// When, when set, holds a drift alert until every condition holds for
	// its route, as Signals measures it. Empty sends on drift alone.
	When []Condition
	// Signals measures a route for When; it is called on the sender's
	// goroutine (never from Notify) and may block briefly. Nil measures
	// nothing: held alerts expire, as no route drifts.
	Signals func(route string) Signals
	// MaxHold bounds how long a drift alert waits for When. Default 1h.
	MaxHold time.Duration
	// Recheck is how often Run re-evaluates held alerts; it is read once,
	// by NewWebhook. Default 10s.
	Recheck time.Duration
}

// Payload is the body of a webhook call.
type Payload struct {
	// Event is what happened: EventDrift (features drifted, the
	// default), EventPromotion, EventPerformanceDrift or EventSLABreach.
	Event    string        `json:"event"`
	Model    string        `json:"model"`
	Route    string        `json:"route"`
	Arm      string        `json:"arm,omitempty"`
	Features []FeatureView `json:"features,omitempty"`
	// Promotion is set for EventPromotion, Performance for the
	// performance events.
	Promotion   *Promotion   `json:"promotion,omitempty"`
	Performance *Performance `json:"performance,omitempty"`
	Windows     []string     `json:"windows"`
	Reference   ReferenceID  `json:"reference"`
	// DriftAt is when the event began: the drift onset, the verdict, the
	// breach.
	DriftAt time.Time `json:"drift_began_at"`
	Sidecar Identity  `json:"sidecar"`
	SentAt  time.Time `json:"sent_at"`
}

// Webhook events.
const (
	EventDrift            = "drift"
	EventPromotion        = "promotion"
	EventPerformanceDrift = "performance_drift"
	EventSLABreach        = "sla_breach"
)

// Promotion is a challenger found better than the live arm by the margin.
type Promotion struct {
	Challenger string  `json:"challenger"`
	Champion   string  `json:"champion"`
	Paired     bool    `json:"paired"`
	Metric     string  `json:"metric"`
	Live       float64 `json:"live"`
	Candidate  float64 `json:"challenger_value"`
	Difference float64 `json:"difference"`
	LowerBound float64 `json:"lower_bound"`
	Margin     float64 `json:"margin"`
	PValue     float64 `json:"pvalue"`
	N          uint64  `json:"n"`
	Window     string  `json:"window"`
}

// Performance is an arm whose labelled performance drifted from the
// reference or breached the SLA.
type Performance struct {
	Window    string  `json:"window"`
	Metric    string  `json:"metric"`
	Value     float64 `json:"value"`
	Reference float64 `json:"reference,omitempty"`
	Limit     float64 `json:"limit,omitempty"`
	PValue    float64 `json:"pvalue,omitempty"`
}

// kind is p's event, EventDrift when unset.
func (p *Payload) kind() string {
	if p.Event == "" {
		return EventDrift
	}
	return p.Event
}

// cooldownKey separates the cooldowns of a route's events and arms.
func (p *Payload) cooldownKey() string { return p.Route + "\x00" + p.kind() + "\x00" + p.Arm }

// ReferenceID names the reference profile.
type ReferenceID struct {
	Hash   string `json:"hash"`
	Source string `json:"source"`
	Rows   uint64 `json:"rows"`
}

// Identity names the sidecar.
type Identity struct {
	Pod       string `json:"pod,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Host      string `json:"host,omitempty"`
	Version   string `json:"version"`
}

// Webhook sends drift notifications from a bounded queue on its own
// goroutine; a slow or dead target costs no memory growth and never
// touches the request path.
type Webhook struct {
	opts   atomic.Pointer[WebhookOptions]
	log    *zap.Logger
	client *http.Client
	queue  chan Payload

	mu   sync.Mutex
	last map[string]time.Time // route → last accepted notification
	held map[string]heldAlert // route → alert waiting for When

	recheckMu sync.Mutex    // one Recheck at a time
	wake      chan struct{} // a held alert arrived
	recheck   time.Duration

	sent, failed, dropped, suppressed atomic.Uint64
	unmet, heldFull                   atomic.Uint64
	delivering                        atomic.Int64
	desc, pending                     *prometheus.Desc
}

// NewWebhook returns a sender; call Run to start it.
func NewWebhook(opts WebhookOptions, log *zap.Logger) *Webhook {
	opts.fill()
	if log == nil {
		log = zap.NewNop()
	}
	w := &Webhook{
		log: log, queue: make(chan Payload, opts.Queue), last: map[string]time.Time{},
		held: map[string]heldAlert{}, wake: make(chan struct{}, 1), recheck: opts.Recheck,
		client:  &http.Client{}, // each attempt is bounded by its context
		desc:    webhookNotifications,
		pending: webhookPending,
	}
	w.opts.Store(&opts)
	return w
}

// Reconfigure replaces the options of later notifications and attempts,
// for a config change; the queue, its bound and the counts are kept.
func (w *Webhook) Reconfigure(opts WebhookOptions) {
	opts.fill()
	opts.Queue = cap(w.queue)
	w.opts.Store(&opts)
}

func (opts *WebhookOptions) fill() {
	if opts.Queue <= 0 {
		opts.Queue = 16
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	if opts.Format == "" {
		opts.Format = FormatJSON
	}
	if opts.MaxHold <= 0 {
		opts.MaxHold = time.Hour
	}
	if opts.Recheck <= 0 {
		opts.Recheck = 10 * time.Second
	}
}

// Notify queues p unless the route is cooling down or the queue is full;
// with When set it holds p for Recheck instead. It never blocks and never
// calls Signals, so a Monitor may call it under its lock.
func (w *Webhook) Notify(p Payload) {
	opts := w.opts.Load()
	now := opts.Now()
	if p.Event == "" {
		p.Event = EventDrift
	}
	if len(opts.When) > 0 && p.Event == EventDrift {
		w.hold(p, now)
		return
	}
	w.enqueue(opts, p, now)
}

// enqueue queues p unless its route is cooling down or the queue is full.
func (w *Webhook) enqueue(opts *WebhookOptions, p Payload, now time.Time) {
	w.mu.Lock()
	if last, ok := w.last[p.cooldownKey()]; ok && now.Sub(last) < opts.Cooldown {
		w.mu.Unlock()
		w.suppressed.Add(1)
		return
	}
	w.last[p.cooldownKey()] = now
	w.mu.Unlock()
	select {
	case w.queue <- p:
	default:
		w.dropped.Add(1)
	}
}

// Run sends queued notifications, and rechecks held ones, until ctx ends.
func (w *Webhook) Run(ctx context.Context) {
	t := time.NewTicker(w.recheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
			w.Recheck()
		case <-t.C:
			w.Recheck()
		case p := <-w.queue:
			w.delivering.Add(1)
			w.deliver(ctx, p)
			w.delivering.Add(-1)
		}
	}
}

func (w *Webhook) deliver(ctx context.Context, p Payload) {
	opts := w.opts.Load()
	pause := backoff.Policy{Initial: opts.Backoff, Max: time.Minute, Multiplier: 2}
	for attempt := 0; ; attempt++ {
		p.SentAt = opts.Now()
		err := w.post(ctx, opts, p)
		if err == nil {
			w.sent.Add(1)
			return
		}
		if attempt >= opts.Retries || ctx.Err() != nil {
			w.failed.Add(1)
			w.log.Warn("drift webhook failed; giving up", zap.String("route", p.Route), zap.Int("attempts", attempt+1), zap.Error(err))
			return
		}
		if opts.Sleep(ctx, pause.Delay(attempt)) != nil {
			w.failed.Add(1)
			return
		}
	}
}

func (w *Webhook) post(ctx context.Context, opts *WebhookOptions, p Payload) error {
	enc, err := encode(opts, &p)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, enc.url, bytes.NewReader(enc.body))
	if err != nil {
		return fmt.Errorf("cannot build webhook request: %w", err)
	}
	maps.Copy(req.Header, enc.header)
	req.Header.Set("User-Agent", "driftcar/"+p.Sidecar.Version)
	if len(opts.Secret) > 0 {
		req.Header.Set("X-Driftcar-Signature", Sign(opts.Secret, enc.body))
	}
	switch a := opts.Auth; {
	case a.Username != "":
		req.SetBasicAuth(a.Username, a.Password)
	case a.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+a.BearerToken)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot call webhook: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if !delivered(opts.Format, resp.StatusCode) {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// Sign returns the X-Driftcar-Signature of body: "sha256=" and the hex
// HMAC-SHA256 keyed by secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// The webhook's descriptors, fixed for every Webhook.
var (
	webhookNotifications = prometheus.NewDesc("driftcar_webhook_notifications_total", "Drift webhook notifications by result.", []string{"result"}, nil)
	webhookPending       = prometheus.NewDesc("driftcar_webhook_pending", "Drift webhook notifications queued or being delivered.", nil, nil)
)

// DescribeWebhook sends the descriptors every Webhook collects, for a
// collector that forwards to a Webhook created later.
func DescribeWebhook(ch chan<- *prometheus.Desc) {
	ch <- webhookNotifications
	ch <- webhookPending
}

// Describe sends the webhook's descriptors.
func (w *Webhook) Describe(ch chan<- *prometheus.Desc) { DescribeWebhook(ch) }

// Collect exports the notification counts.
func (w *Webhook) Collect(ch chan<- prometheus.Metric) {
	for result, n := range map[string]*atomic.Uint64{"sent": &w.sent, "failed": &w.failed, "dropped_queue_full": &w.dropped, "suppressed_cooldown": &w.suppressed,
		"expired_conditions_unmet": &w.unmet, "dropped_held_full": &w.heldFull} {
		ch <- prometheus.MustNewConstMetric(w.desc, prometheus.CounterValue, float64(n.Load()), result)
	}
	ch <- prometheus.MustNewConstMetric(w.pending, prometheus.GaugeValue, float64(len(w.queue))+float64(w.delivering.Load()))
}
