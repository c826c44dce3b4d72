package llm

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/internal/panics"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/proxy"
)

// Defaults of Options.
const (
	DefaultQueue    = 256
	DefaultMaxBytes = 16 << 20
	DefaultMaxBody  = 1 << 20
)

// maxPooledBody is the largest copy whose buffer returns to the pool.
const maxPooledBody = 256 << 10

// Options configure the Counter of one route.
type Options struct {
	Route    string
	Protocol payload.Protocol
	Metrics  *Metrics // required
	Panics   *panics.Counter
	// Queue bounds the answers waiting to be decoded, MaxBytes their
	// bytes, and MaxBody one answer. Defaults DefaultQueue,
	// DefaultMaxBytes and DefaultMaxBody.
	Queue, MaxBytes, MaxBody int
}

// Counter counts one route's answers. Build it with New; it must not be
// copied.
type Counter struct {
	opts    Options
	dec     *payload.ResponseDecoder
	queue   chan *answer
	queued  atomic.Int64 // bytes on the queue
	pool    sync.Pool
	stop    chan struct{}
	done    chan struct{}
	dropped [3]prometheus.Counter // queue_full, bytes_full, body_too_large
	// arms is written by the worker only, under mu; Stats reads it under
	// mu, the worker without.
	mu   sync.Mutex
	arms map[string]*armCounters
}

var _ proxy.Sampler = (*Counter)(nil)

type answer struct {
	body   []byte
	arm    string
	stream bool
}

// armCounters are the children of one arm, resolved by the worker, and
// the same counts kept for Stats.
type armCounters struct {
	prompt, completionUsage, completionChunks prometheus.Counter
	finish                                    map[string]prometheus.Counter

	answers, nPrompt, nUsage, nChunks atomic.Uint64
	nFinish                           map[string]*atomic.Uint64 // fixed at creation
}

// New starts the Counter of opts.Route.
func New(opts Options) (*Counter, error) {
	c, err := build(opts)
	if err != nil {
		return nil, err
	}
	go c.work()
	return c, nil
}

func build(opts Options) (*Counter, error) {
	if opts.Metrics == nil {
		return nil, errors.New("llm: Options.Metrics is required")
	}
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	dec, err := payload.NewResponseDecoder(opts.Protocol, payload.PredictionSpec{}, payload.DecoderOptions{})
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", opts.Route, err)
	}
	c := &Counter{
		opts:  opts,
		dec:   dec,
		queue: make(chan *answer, opts.Queue),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		arms:  map[string]*armCounters{},
	}
	c.pool.New = func() any { return new(answer) }
	for i, reason := range []string{uncountedQueueFull, uncountedBytesFull, uncountedTooLarge} {
		c.dropped[i] = opts.Metrics.uncounted.WithLabelValues(opts.Route, reason)
	}
	for _, reason := range uncountedReasons {
		opts.Metrics.uncounted.WithLabelValues(opts.Route, reason)
	}
	return c, nil
}

var eventStream = []byte("text/event-stream")

// Sample copies a successful answer and queues it for counting. It never
// blocks.
func (c *Counter) Sample(_ *fasthttp.Request, resp *fasthttp.Response, arm string) {
	if s := resp.StatusCode(); s < 200 || s > 299 {
		return
	}
	body := resp.Body()
	if len(body) > c.opts.MaxBody {
		c.dropped[2].Inc()
		return
	}
	if c.queued.Add(int64(len(body))) > int64(c.opts.MaxBytes) {
		c.queued.Add(-int64(len(body)))
		c.dropped[1].Inc()
		return
	}
	a := c.pool.Get().(*answer)
	a.body = append(a.body[:0], body...)
	a.arm = arm
	a.stream = bytes.HasPrefix(resp.Header.ContentType(), eventStream)
	select {
	case c.queue <- a:
	default:
		c.queued.Add(-int64(len(a.body)))
		c.dropped[0].Inc()
		c.recycle(a)
	}
}

func (c *Counter) recycle(a *answer) {
	if cap(a.body) <= maxPooledBody {
		c.pool.Put(a)
	}
}

// Stop stops the worker; answers still queued count as reconfigured.
func (c *Counter) Stop() {
	close(c.stop)
	<-c.done
	left := c.opts.Metrics.uncounted.WithLabelValues(c.opts.Route, uncountedReconfigured)
	for {
		select {
		case a := <-c.queue:
			left.Inc()
			c.recycle(a)
		default:
			return
		}
	}
}

// QueueLength is the number of answers waiting to be counted.
func (c *Counter) QueueLength() int { return len(c.queue) }

func (c *Counter) work() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case a := <-c.queue:
			c.countGuarded(a)
			c.queued.Add(-int64(len(a.body)))
			c.recycle(a)
		}
	}
}

func (c *Counter) countGuarded(a *answer) {
	defer c.opts.Panics.Recover("llm")
	c.count(a)
}

func (c *Counter) count(a *answer) {
	m := c.opts.Metrics
	preds, err := c.dec.Decode(a.body)
	if err != nil {
		m.uncounted.WithLabelValues(c.opts.Route, uncountedUndecodable).Inc()
		return
	}
	ac := c.armCounters(a.arm)
	ac.answers.Add(1)
	prompt, completion := c.dec.Usage()
	var completion0 *payload.Prediction
	if len(preds) > 0 && preds[0].Kind == payload.PredictionCompletion {
		completion0 = &preds[0]
		reason := finishLabel(completion0.Text)
		ac.finish[reason].Inc()
		ac.nFinish[reason].Add(1)
	}
	switch {
	case prompt >= 0 || completion >= 0:
		if prompt > 0 {
			ac.prompt.Add(float64(prompt))
			ac.nPrompt.Add(uint64(prompt))
		}
		if completion > 0 {
			ac.completionUsage.Add(float64(completion))
			ac.nUsage.Add(uint64(completion))
		}
	case a.stream && completion0 != nil:
		ac.completionChunks.Add(completion0.Num)
		ac.nChunks.Add(uint64(completion0.Num))
	default:
		m.uncounted.WithLabelValues(c.opts.Route, uncountedNoUsage).Inc()
	}
}

func (c *Counter) armCounters(arm string) *armCounters {
	if ac := c.arms[arm]; ac != nil {
		return ac
	}
	m, route := c.opts.Metrics, c.opts.Route
	ac := &armCounters{
		prompt:           m.tokens.WithLabelValues(route, arm, "prompt", "usage"),
		completionUsage:  m.tokens.WithLabelValues(route, arm, "completion", "usage"),
		completionChunks: m.tokens.WithLabelValues(route, arm, "completion", "chunks"),
		finish:           map[string]prometheus.Counter{},
		nFinish:          map[string]*atomic.Uint64{},
	}
	for _, reason := range finishLabels {
		ac.finish[reason] = m.finish.WithLabelValues(route, arm, reason)
		ac.nFinish[reason] = new(atomic.Uint64)
	}
	c.mu.Lock()
	c.arms[arm] = ac
	c.mu.Unlock()
	return ac
}

// ArmTokens are the cumulative counts of one arm's answers since the
// Counter started.
type ArmTokens struct {
	Arm string
	// Answers counts the answers decoded.
	Answers uint64
	// Prompt and CompletionUsage come from the servers' usage objects;
	// CompletionChunks counts the text chunks of streams without usage.
	Prompt, CompletionUsage, CompletionChunks uint64
	// Finish counts answers by finish reason (other: a reason not listed;
	// none: an answer without one); only reasons seen are present.
	Finish map[string]uint64
}

// Stats returns the counts of every arm that answered, by arm name. It is
// safe to call concurrently with Sample and the worker.
func (c *Counter) Stats() []ArmTokens {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]ArmTokens, 0, len(c.arms))
	for arm, ac := range c.arms {
		st := ArmTokens{Arm: arm, Answers: ac.answers.Load(), Prompt: ac.nPrompt.Load(),
			CompletionUsage: ac.nUsage.Load(), CompletionChunks: ac.nChunks.Load(), Finish: map[string]uint64{}}
		for reason, n := range ac.nFinish {
			if v := n.Load(); v > 0 {
				st.Finish[reason] = v
			}
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b ArmTokens) int { return strings.Compare(a.Arm, b.Arm) })
	return out
}
