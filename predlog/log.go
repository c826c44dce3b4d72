package predlog

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftcar/driftcar/internal/backoff"
)

// Sink writes batches of records to one store. Implementations must be
// safe for concurrent use when QueueOptions.Workers > 1.
type Sink interface {
	// Write stores batch. It must not keep or change the records after it
	// returns, and must return soon after ctx is done. On an error the
	// whole batch is retried, so a sink may see a record twice.
	Write(ctx context.Context, batch []*Record) error
	// Ready returns nil when the sink can write, else why not. It must be
	// cheap: it is called by readiness probes and metric scrapes.
	Ready() error
	// Close releases the sink's resources after the last Write.
	Close(ctx context.Context) error
}

// QueueOptions bound one sink's queue and tune its delivery. Zero fields
// take the defaults.
type QueueOptions struct {
	// MaxRecords is the queue length (default 10000).
	MaxRecords int
	// MaxBytes caps the estimated bytes of queued and in-flight records
	// (default 64 MiB).
	MaxBytes int64
	// BatchSize is the most records per Write (default 100).
	BatchSize int
	// MaxAttempts is how many times a batch is written before it is
	// dropped as retries_exhausted (default 5).
	MaxAttempts int
	// Backoff is the pause between attempts (default 100ms doubling to
	// 10s, 20% jitter).
	Backoff backoff.Policy
	// WriteTimeout bounds one Write (default 10s).
	WriteTimeout time.Duration
	// Workers is the number of goroutines writing to the sink (default 1).
	Workers int
	// Linger is how long a batch that is not full waits for more records
	// before it is written (default 5ms; negative writes at once): fewer,
	// larger writes.
	Linger time.Duration
}

// DefaultBackoff is the retry pause of a sink without its own.
var DefaultBackoff = backoff.Policy{Initial: 100 * time.Millisecond, Max: 10 * time.Second, Multiplier: 2, Jitter: 0.2}

// Validate checks o; errors name the field.
func (o QueueOptions) Validate() error {
	var errs []error
	if o.MaxRecords < 0 {
		errs = append(errs, fmt.Errorf("max_records: must be >= 0, got %d", o.MaxRecords))
	}
	if o.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("max_bytes: must be >= 0, got %d", o.MaxBytes))
	}
	if o.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch_size: must be >= 0, got %d", o.BatchSize))
	}
	if o.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("max_attempts: must be >= 0, got %d", o.MaxAttempts))
	}
	if o.WriteTimeout < 0 {
		errs = append(errs, fmt.Errorf("write_timeout: must be >= 0, got %s", o.WriteTimeout))
	}
	if o.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers: must be >= 0, got %d", o.Workers))
	}
	if o.Backoff.Initial < 0 || o.Backoff.Max < 0 || o.Backoff.Jitter < 0 || o.Backoff.Jitter >= 1 {
		errs = append(errs, errors.New("backoff: delays must be >= 0 and jitter within [0, 1)"))
	}
	d := o.withDefaults()
	if d.BatchSize > d.MaxRecords {
		errs = append(errs, fmt.Errorf("batch_size: %d cannot exceed max_records (%d)", d.BatchSize, d.MaxRecords))
	}
	return errors.Join(errs...)
}

func (o QueueOptions) withDefaults() QueueOptions {
	if o.MaxRecords == 0 {
		o.MaxRecords = 10000
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = 64 << 20
	}
	if o.BatchSize == 0 {
		o.BatchSize = min(100, o.MaxRecords)
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 5
	}
	if o.Backoff == (backoff.Policy{}) {
		o.Backoff = DefaultBackoff
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Workers == 0 {
		o.Workers = 1
	}
	if o.Linger == 0 {
		o.Linger = 5 * time.Millisecond
	}
	return o
}

// SinkSpec is one sink of a Log: its name (the sink label), the sink and
// its queue.
type SinkSpec struct {
	Name  string
	Sink  Sink
	Queue QueueOptions
}

var sinkName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// Log fans records out to its sinks. See the package doc for the
// contract. A Log must not be copied.
type Log struct {
	logger  *zap.Logger
	metrics *Metrics
	pool    sync.Pool
	runners []*runner

	mu     sync.RWMutex // guards closed against Offer
	closed bool
	wg     sync.WaitGroup
}

// New starts a Log that writes to sinks. On an error the sinks given are
// not closed. Sinks are closed by Log.Close.
func New(logger *zap.Logger, m *Metrics, sinks ...SinkSpec) (*Log, error) {
	seen := map[string]bool{}
	var errs []error
	for i, s := range sinks {
		switch {
		case !sinkName.MatchString(s.Name):
			errs = append(errs, fmt.Errorf("sinks[%d].name: %q must match %s", i, s.Name, sinkName))
		case seen[s.Name]:
			errs = append(errs, fmt.Errorf("sinks[%d].name: duplicate %q", i, s.Name))
		}
		seen[s.Name] = true
		if s.Sink == nil {
			errs = append(errs, fmt.Errorf("sinks[%d]: no sink", i))
		}
		if err := s.Queue.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("sinks[%d].%w", i, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	l := &Log{logger: logger, metrics: m}
	l.pool.New = func() any { return new(Record) }
	for _, s := range sinks {
		r := newRunner(l, s)
		l.runners = append(l.runners, r)
		m.queues.add(r)
	}
	for _, r := range l.runners {
		for range r.opts.Workers {
			l.wg.Add(1)
			go r.work(&l.wg)
		}
	}
	return l, nil
}

// Acquire returns an empty record from the log's pool.
func (l *Log) Acquire() *Record {
	return l.pool.Get().(*Record)
}

// Offer hands r to every sink without blocking: a sink whose queue is
// full drops and counts it. It reports whether at least one sink took r.
// Either way r belongs to the log after the call and must not be touched.
func (l *Log) Offer(r *Record) bool {
	r.size = r.Size()
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed || len(l.runners) == 0 {
		for _, s := range l.runners {
			s.drop[dropClosed].Inc()
		}
		l.recycle(r)
		return false
	}
	// refs must cover every sink before the first enqueue: a worker may
	// finish with r while later sinks are still offered it.
	r.refs.Store(int32(len(l.runners)))
	taken := false
	for _, s := range l.runners {
		if s.offer(r) {
			taken = true
		} else {
			l.release(r)
		}
	}
	return taken
}

// release ends one sink's hold on r.
func (l *Log) release(r *Record) {
	if r.refs.Add(-1) == 0 {
		l.recycle(r)
	}
}

func (l *Log) recycle(r *Record) {
	r.Reset()
	r.trim()
	l.pool.Put(r)
}

// Ready returns nil when every sink is ready, else the reasons by sink.
func (l *Log) Ready() error {
	var errs []error
	for _, s := range l.runners {
		if err := s.sink.Ready(); err != nil {
			errs = append(errs, fmt.Errorf("log sink %s: %w", s.name, err))
		}
	}
	return errors.Join(errs...)
}

// Close stops taking records, writes what is queued until ctx is done,
// then drops the rest as closed and closes the sinks. It returns ctx's
// error when the queues did not drain in time.
func (l *Log) Close(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	for _, s := range l.runners {
		close(s.draining)
	}
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	var mu sync.Mutex
	var err error
	closeSinks := func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeGrace)
		defer cancel()
		for _, s := range l.runners {
			s.closeOnce.Do(func() {
				if cerr := s.sink.Close(closeCtx); cerr != nil {
					mu.Lock()
					err = errors.Join(err, fmt.Errorf("cannot close log sink %s: %w", s.name, cerr))
					mu.Unlock()
				}
			})
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		mu.Lock()
		err = errors.Join(err, fmt.Errorf("cannot drain prediction log: %w", ctx.Err()))
		mu.Unlock()
		for _, s := range l.runners {
			s.cancel()
		}
		select {
		case <-done:
		case <-time.After(closeGrace):
			// A Write ignores its context: closing the sink unblocks it.
			go closeSinks()
		}
		<-done
	}
	closeSinks()
	for _, s := range l.runners {
		s.cancel()
		l.metrics.queues.remove(s)
	}
	mu.Lock()
	defer mu.Unlock()
	return err
}

// closeGrace is how long Close waits for a cancelled Write to return
// before it closes the sink under it, and bounds each sink's Close.
const closeGrace = 2 * time.Second

// runner is one sink's queue and workers.
type runner struct {
	name   string
	sink   Sink
	opts   QueueOptions
	log    *Log
	logger *zap.Logger

	q         chan *Record
	bytes     atomic.Int64 // estimated bytes queued or in flight
	depth     atomic.Int64 // records queued or in flight
	failing   atomic.Bool
	draining  chan struct{}
	stop      context.Context // done when Close gives up draining
	cancel    context.CancelFunc
	closeOnce sync.Once

	written, failed prometheus.Counter
	drop            [numDropReasons]prometheus.Counter
}

func newRunner(l *Log, s SinkSpec) *runner {
	o := s.Queue.withDefaults()
	r := &runner{
		name:     s.Name,
		sink:     s.Sink,
		opts:     o,
		log:      l,
		logger:   l.logger.Named("log." + s.Name),
		q:        make(chan *Record, o.MaxRecords),
		draining: make(chan struct{}),
		written:  l.metrics.records.WithLabelValues(s.Name, "written"),
		failed:   l.metrics.records.WithLabelValues(s.Name, "failed"),
	}
	r.stop, r.cancel = context.WithCancel(context.Background())
	for i := range r.drop {
		r.drop[i] = l.metrics.dropped.WithLabelValues(s.Name, dropReasons[i])
	}
	return r
}

// offer enqueues rec without blocking.
func (s *runner) offer(rec *Record) bool {
	if s.bytes.Add(rec.size) > s.opts.MaxBytes {
		s.bytes.Add(-rec.size)
		s.drop[dropBytesFull].Inc()
		return false
	}
	s.depth.Add(1)
	select {
	case s.q <- rec:
		return true
	default:
		s.bytes.Add(-rec.size)
		s.depth.Add(-1)
		s.drop[dropQueueFull].Inc()
		return false
	}
}

func (s *runner) work(wg *sync.WaitGroup) {
	defer wg.Done()
	batch := make([]*Record, 0, s.opts.BatchSize)
	defer func() {
		if p := recover(); p != nil {
			s.logger.Error("log sink panicked; its records are dropped", zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
			s.finish(batch, dropClosed)
			// Keep draining so that nothing queued is left uncounted.
			wg.Add(1)
			go s.work(wg)
		}
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		var rec *Record
		select {
		case rec = <-s.q:
		case <-s.draining:
			select {
			case rec = <-s.q:
			default:
				return
			}
		}
		batch = append(batch[:0], rec)
		s.fill(&batch, linger)
		s.deliver(batch, timer)
		batch = batch[:0]
	}
}

// fill adds queued records to batch until it is full or the linger,
// started at its first record, has passed, or the log drains.
func (s *runner) fill(batch *[]*Record, linger *time.Timer) {
	b := *batch
	defer func() { *batch = b }()
	if s.opts.Linger < 0 {
		for len(b) < s.opts.BatchSize {
			select {
			case rec := <-s.q:
				b = append(b, rec)
			default:
				return
			}
		}
		return
	}
	linger.Reset(s.opts.Linger)
	defer func() {
		if !linger.Stop() {
			select {
			case <-linger.C:
			default:
			}
		}
	}()
	for len(b) < s.opts.BatchSize {
		select {
		case rec := <-s.q: // what is queued first, even when draining
			b = append(b, rec)
			continue
		default:
		}
		select {
		case rec := <-s.q:
			b = append(b, rec)
		case <-linger.C:
			return
		case <-s.draining:
			return
		}
	}
}

// deliver writes batch with retries and ends the log's hold on its records.
func (s *runner) deliver(batch []*Record, timer *time.Timer) {
	n := float64(len(batch))
	for attempt := 0; ; attempt++ {
		if s.stop.Err() != nil {
			s.finish(batch, dropClosed)
			return
		}
		ctx, cancel := context.WithTimeout(s.stop, s.opts.WriteTimeout)
		err := s.sink.Write(ctx, batch)
		cancel()
		if err == nil {
			s.written.Add(n)
			if s.failing.Swap(false) {
				s.logger.Info("log sink writes again")
			}
			s.finish(batch, numDropReasons)
			return
		}
		s.failed.Add(n)
		if !s.failing.Swap(true) {
			s.logger.Warn("log sink write failed; retrying, further failures are counted in driftcar_log_records_total{result=\"failed\"}", zap.Error(err))
		}
		if s.stop.Err() != nil {
			s.finish(batch, dropClosed)
			return
		}
		if attempt+1 >= s.opts.MaxAttempts {
			s.finish(batch, dropRetriesExhausted)
			return
		}
		timer.Reset(s.opts.Backoff.Delay(attempt))
		select {
		case <-timer.C:
		case <-s.stop.Done():
			timer.Stop()
			s.finish(batch, dropClosed)
			return
		}
	}
}

// finish counts batch as dropped for reason (none when numDropReasons)
// and releases its records.
func (s *runner) finish(batch []*Record, reason dropReason) {
	n := 0
	for i, rec := range batch {
		if rec == nil {
			continue
		}
		n++
		s.bytes.Add(-rec.size)
		s.depth.Add(-1)
		s.log.release(rec)
		batch[i] = nil
	}
	if reason < numDropReasons {
		s.drop[reason].Add(float64(n))
	}
}

// Release returns a record that will not be offered.
func (l *Log) Release(r *Record) { l.release(r) }

// Saturated reports whether every sink's queue is full, so that Offer
// would drop a record everywhere: a caller can skip building it.
func (l *Log) Saturated() bool {
	for _, s := range l.runners {
		if len(s.q) < cap(s.q) && s.bytes.Load() < s.opts.MaxBytes {
			return false
		}
	}
	return len(l.runners) > 0
}

// DropSaturated counts a record that was not built because the log was
// Saturated, as Offer would have counted it in every sink.
func (l *Log) DropSaturated() {
	for _, s := range l.runners {
		if s.bytes.Load() >= s.opts.MaxBytes {
			s.drop[dropBytesFull].Inc()
		} else {
			s.drop[dropQueueFull].Inc()
		}
	}
}
