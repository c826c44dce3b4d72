package loadgen

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Requester sends one request and waits for its response. Implementations
// must be safe for concurrent use and must bound the wait with a timeout
// of their own.
type Requester interface {
	// Do returns the response status, or an error if no response arrived.
	Do() (status int, err error)
}

// RequesterFunc adapts a function to Requester.
type RequesterFunc func() (int, error)

// Do calls f.
func (f RequesterFunc) Do() (int, error) { return f() }

var _ Requester = RequesterFunc(nil)

// Mode is how load was generated.
type Mode string

// Modes.
const (
	Open   Mode = "open"   // constant rate, schedule kept regardless of responses
	Closed Mode = "closed" // N requests always in flight
)

// Live counts a run's progress while it runs, for a progress display.
// All fields are updated atomically and may be read at any time.
type Live struct {
	Sent     atomic.Int64 // requests started
	Done     atomic.Int64 // responses or errors
	Failed   atomic.Int64 // transport errors and non-2xx responses
	InFlight atomic.Int64
}

// Result is the outcome of one run.
type Result struct {
	Mode Mode
	// Rate is the offered rate in requests per second (open loop).
	Rate float64
	// Conns is the number of requests kept in flight (closed loop).
	Conns int
	// Planned is the scheduled duration of the run.
	Planned time.Duration
	// Elapsed runs from the first scheduled send to the last response;
	// in open loop it is at least Planned, the schedule's length.
	Elapsed time.Duration
	// Sent is the number of requests started.
	Sent int64
	// Responses counts requests that got a response, of any status;
	// OK counts the 2xx ones among them.
	Responses, OK int64
	// Errors counts requests that got no response (timeouts, refused or
	// reset connections).
	Errors int64
	// Workers is the most requests the open-loop generator had in flight.
	Workers int
	// Latency is per response, from the intended send time in open loop
	// (coordinated-omission corrected) and from the actual send in closed
	// loop. Requests without a response are not in it.
	Latency *Histogram
	// Uncorrected is per response, from the actual send time.
	Uncorrected *Histogram
	// SendLag is the actual minus the intended send time of every request
	// (open loop only): the generator's own delay, or its wait for a free
	// connection when MaxInFlight was reached.
	SendLag *Histogram
}

// Achieved is the rate of responses over Elapsed, in requests per second.
func (r *Result) Achieved() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Responses) / r.Elapsed.Seconds()
}

// Failed counts requests without a response or with a non-2xx status.
func (r *Result) Failed() int64 { return r.Errors + r.Responses - r.OK }

// OpenOptions configure OpenLoop.
type OpenOptions struct {
	// Rate is the offered load in requests per second. Required.
	Rate float64
	// Duration is how long requests are scheduled. Required.
	Duration time.Duration
	// MaxInFlight caps the requests in flight, and so the connections.
	// When reached, the next send waits for a response, and the wait
	// shows in the corrected latency and the send lag. Default 1024.
	MaxInFlight int
	// Live, when set, is updated as the run progresses.
	Live *Live
}

// ClosedOptions configure ClosedLoop.
type ClosedOptions struct {
	// Conns is the number of requests kept in flight. Required.
	Conns int
	// Duration is how long new requests are started. Required.
	Duration time.Duration
	// Live, when set, is updated as the run progresses.
	Live *Live
}

// Errors of invalid options.
var (
	ErrBadRate     = errors.New("loadgen: rate must be positive")
	ErrBadDuration = errors.New("loadgen: duration must be positive")
	ErrBadConns    = errors.New("loadgen: conns must be positive")
)

// DefaultMaxInFlight is OpenOptions.MaxInFlight's default.
const DefaultMaxInFlight = 1024

// OpenLoop sends Rate requests per second for Duration, request i at
// start + i/Rate, whatever happened to earlier ones: when every worker is
// busy it starts another, up to MaxInFlight. It returns when every request
// got a response or failed, or when ctx ends (with the partial result and
// ctx's error).
func OpenLoop(ctx context.Context, r Requester, opts OpenOptions) (*Result, error) {
	if !(opts.Rate > 0) || math.IsInf(opts.Rate, 0) {
		return nil, ErrBadRate
	}
	if opts.Duration <= 0 {
		return nil, ErrBadDuration
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	live := opts.Live
	if live == nil {
		live = new(Live)
	}
	n := int64(math.Round(opts.Rate * opts.Duration.Seconds()))
	interval := float64(time.Second) / opts.Rate
	rec := newRecorder()
	// Workers take scheduled send times from jobs. A new worker starts
	// only when every worker is inside a request, not merely when none is
	// waiting on jobs: under CPU contention idle workers may simply not
	// have been scheduled yet, and more of them would not help.
	jobs := make(chan time.Time, opts.MaxInFlight)
	var (
		wg   sync.WaitGroup
		busy atomic.Int64
	)
	run := func(w int) {
		defer wg.Done()
		sh := rec.shard(w)
		for intended := range jobs {
			busy.Add(1)
			sh.do(r, live, intended)
			busy.Add(-1)
		}
	}

	p := newPacer()
	defer p.close()
	done := ctx.Done()
	start := time.Now()
	workers := 0
	for i := range n {
		intended := start.Add(time.Duration(float64(i) * interval))
		if !sleepUntil(p, done, intended) {
			break
		}
		if workers < opts.MaxInFlight && busy.Load() >= int64(workers) {
			wg.Add(1)
			go run(workers)
			workers++
		}
		select {
		case jobs <- intended:
		case <-done:
		}
	}
	close(jobs)
	wg.Wait()
	res := rec.result(start)
	res.Mode, res.Rate, res.Planned, res.Workers = Open, opts.Rate, opts.Duration, workers
	if ctx.Err() == nil {
		res.Elapsed = max(res.Elapsed, opts.Duration)
	}
	return res, ctx.Err()
}

// ClosedLoop keeps Conns requests in flight for Duration: each of Conns
// workers sends its next request as soon as the previous one returned.
// Latency is measured from the actual send. It returns when every worker
// finished, or when ctx ends (with the partial result and ctx's error).
func ClosedLoop(ctx context.Context, r Requester, opts ClosedOptions) (*Result, error) {
	if opts.Conns <= 0 {
		return nil, ErrBadConns
	}
	if opts.Duration <= 0 {
		return nil, ErrBadDuration
	}
	live := opts.Live
	if live == nil {
		live = new(Live)
	}
	rec := newRecorder()
	start := time.Now()
	deadline := start.Add(opts.Duration)
	var wg sync.WaitGroup
	for w := range opts.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sh := rec.shard(w)
			for ctx.Err() == nil {
				now := time.Now()
				if !now.Before(deadline) {
					return
				}
				sh.do(r, live, now)
			}
		}()
	}
	wg.Wait()
	res := rec.result(start)
	res.Mode, res.Conns, res.Planned = Closed, opts.Conns, opts.Duration
	res.SendLag = NewHistogram()
	return res, ctx.Err()
}

// recorder collects observations in shards, one per group of workers, so
// that workers rarely contend for a lock.
type recorder struct {
	shards [16]shard
}

type shard struct {
	mu                  sync.Mutex
	lat, naive, lag     *Histogram
	sent, responses, ok int64
	errors              int64
	last                time.Time
	_                   [64]byte // keep shards on separate cache lines
}

func newRecorder() *recorder {
	rec := new(recorder)
	for i := range rec.shards {
		s := &rec.shards[i]
		s.lat, s.naive, s.lag = NewHistogram(), NewHistogram(), NewHistogram()
	}
	return rec
}

func (rec *recorder) shard(worker int) *shard { return &rec.shards[worker%len(rec.shards)] }

// do sends one request scheduled for intended and records it.
func (s *shard) do(r Requester, live *Live, intended time.Time) {
	live.Sent.Add(1)
	live.InFlight.Add(1)
	sent := time.Now()
	status, err := r.Do()
	end := time.Now()
	live.InFlight.Add(-1)
	live.Done.Add(1)
	ok := err == nil && status >= 200 && status < 300
	if !ok {
		live.Failed.Add(1)
	}
	s.mu.Lock()
	s.sent++
	s.lag.Record(sent.Sub(intended))
	if err != nil {
		s.errors++
	} else {
		s.responses++
		if ok {
			s.ok++
		}
		s.lat.Record(end.Sub(intended))
		s.naive.Record(end.Sub(sent))
	}
	if end.After(s.last) {
		s.last = end
	}
	s.mu.Unlock()
}

// result merges the shards; the caller must have stopped every worker.
func (rec *recorder) result(start time.Time) *Result {
	res := &Result{Latency: NewHistogram(), Uncorrected: NewHistogram(), SendLag: NewHistogram()}
	last := start
	for i := range rec.shards {
		s := &rec.shards[i]
		res.Latency.Merge(s.lat)
		res.Uncorrected.Merge(s.naive)
		res.SendLag.Merge(s.lag)
		res.Sent += s.sent
		res.Responses += s.responses
		res.OK += s.ok
		res.Errors += s.errors
		if s.last.After(last) {
			last = s.last
		}
	}
	res.Elapsed = last.Sub(start)
	return res
}
