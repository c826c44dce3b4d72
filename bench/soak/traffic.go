package soak

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

const (
	predictPath  = "/v1/models/soak:predict"
	bodiesPerSet = 4096
	users        = 1000
	// driftShift moves f1 by this many standard deviations.
	driftShift = 1.0
)

// row is one generated instance.
type row struct {
	f1, f2 float64
	cat    string
}

var categories = []string{"a", "b", "c", "d"}

func genRow(r *rand.Rand, drifted bool) row {
	x := row{f1: r.NormFloat64(), f2: r.Float64() * 10, cat: categories[r.IntN(len(categories))]}
	if drifted {
		x.f1 += driftShift
	}
	return x
}

func (x row) appendJSON(b []byte) []byte {
	b = append(b, `{"instances":[{"f1":`...)
	b = strconv.AppendFloat(b, x.f1, 'f', 5, 64)
	b = append(b, `,"f2":`...)
	b = strconv.AppendFloat(b, x.f2, 'f', 5, 64)
	b = append(b, `,"cat":"`...)
	b = append(b, x.cat...)
	return append(b, `"}]}`...)
}

// traffic sends the soak's requests and sorts their outcomes. It is a
// loadgen.Requester, safe for concurrent use.
type traffic struct {
	hc      *fasthttp.HostClient
	host    string
	rngs    sync.Pool // *rand.Rand: every row is drawn afresh, so windows see i.i.d. data
	userIDs []string
	drifted atomic.Bool
	seq     atomic.Uint64

	ok, upstreamFaults, driftcarErrors atomic.Uint64
	// prewarmed counts the requests prewarm sent (not loadgen's).
	prewarmed atomic.Int64

	mu       sync.Mutex
	examples map[string]int // driftcar-caused error → count, at most maxExamples keys
	other    uint64         // errors beyond maxExamples distinct ones
}

const maxExamples = 20

func newTraffic(addr string, seed uint64, maxConns int) *traffic {
	var streams atomic.Uint64
	t := &traffic{
		hc: &fasthttp.HostClient{
			// FIFO over a pool opened whole by prewarm: every connection
			// stays busy, so the count is fixed and any growth in
			// driftcar's goroutines or fds is its own.
			Addr: addr, MaxConns: maxConns, MaxIdleConnDuration: time.Minute,
			NoDefaultUserAgentHeader: true, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		},
		host:     addr,
		examples: map[string]int{},
	}
	t.rngs.New = func() any { return rand.New(rand.NewPCG(seed, streams.Add(1))) }
	for i := range users {
		t.userIDs = append(t.userIDs, "user-"+strconv.Itoa(i))
	}
	return t
}

// Do sends one request; only a failure driftcar caused is an error for
// loadgen's counts, the stubs' injected 500s are answers.
func (t *traffic) Do() (int, error) {
	i := t.seq.Add(1)
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(predictPath)
	req.Header.SetHost(t.host)
	req.Header.SetContentType("application/json")
	req.Header.Set("X-User-Id", t.userIDs[i%uint64(len(t.userIDs))])
	r := t.rngs.Get().(*rand.Rand)
	req.SetBody(genRow(r, t.drifted.Load()).appendJSON(req.Body()[:0]))
	t.rngs.Put(r)
	err := t.hc.DoTimeout(req, resp, 5*time.Second)
	status := resp.StatusCode()
	switch {
	case err != nil:
		t.driftcarError("no response: " + errorClass(err))
		return 0, err
	case status >= 200 && status < 300:
		t.ok.Add(1)
	case len(resp.Header.Peek(faultHeader)) > 0:
		t.upstreamFaults.Add(1)
	default:
		body := resp.Body()
		if len(body) > 160 {
			body = body[:160]
		}
		t.driftcarError(fmt.Sprintf("%d %s", status, body))
	}
	return status, nil
}

// prewarm opens the client's whole pool: n requests at once, held until
// all have started. They are counted like any other request.
func (t *traffic) prewarm(n int) {
	var ready, done sync.WaitGroup
	ready.Add(n)
	start := make(chan struct{})
	for range n {
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			t.prewarmed.Add(1)
			_, _ = t.Do()
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

func (t *traffic) driftcarError(what string) {
	t.driftcarErrors.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.examples[what]; ok || len(t.examples) < maxExamples {
		t.examples[what]++
		return
	}
	t.other++
}

func errorClass(err error) string {
	switch {
	case errors.Is(err, fasthttp.ErrTimeout):
		return "timeout"
	case errors.Is(err, fasthttp.ErrConnectionClosed):
		return "connection closed"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "no free client connections"
	}
	return err.Error()
}

func (t *traffic) errorExamples() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int, len(t.examples)+1)
	for k, v := range t.examples {
		out[k] = v
	}
	if t.other > 0 {
		out["(other)"] = int(t.other)
	}
	return out
}
