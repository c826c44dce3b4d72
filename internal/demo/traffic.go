package demo

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// traffic sends requests at a steady rate from a pool of workers; a send
// that finds every worker busy is counted as late, never queued.
type traffic struct {
	addr    string
	rate    int
	seed    uint64
	client  *fasthttp.HostClient
	cc      *grpc.ClientConn // with --grpc: calls go to driftcar's gRPC listener
	labels  *labeler         // nil sends no labels
	sent    atomic.Uint64
	errors  atomic.Uint64
	late    atomic.Uint64
	drifted atomic.Bool
}

type trafficStats struct {
	sent, errors, late uint64
	drifted            bool
	labels             LabelCounts
}

func newTraffic(addr string, rate int, seed uint64) *traffic {
	return &traffic{addr: addr, rate: rate, seed: seed, client: &fasthttp.HostClient{Addr: addr, MaxConns: 64}}
}

func (t *traffic) stats() trafficStats {
	st := trafficStats{sent: t.sent.Load(), errors: t.errors.Load(), late: t.late.Load(), drifted: t.drifted.Load()}
	if t.labels != nil {
		st.labels = t.labels.counts()
	}
	return st
}

// run sends until ctx ends, with drift from driftAt on.
func (t *traffic) run(ctx context.Context, driftAt time.Time) {
	const workers = 32
	jobs := make(chan bool, workers) // true: drifted
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.worker(jobs, uint64(w))
		}()
	}
	defer func() { close(jobs); wg.Wait(); t.client.CloseIdleConnections() }()
	interval := time.Second / time.Duration(t.rate)
	next := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		now := time.Now()
		for !next.After(now) {
			d := now.After(driftAt)
			t.drifted.Store(d)
			select {
			case jobs <- d:
			default:
				t.late.Add(1)
			}
			next = next.Add(interval)
		}
		timer.Reset(next.Sub(now))
	}
}

func (t *traffic) worker(jobs <-chan bool, id uint64) {
	gen := newGenerator(t.seed*1000 + id)
	dr := &injected
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	var body []byte
	var n uint64
	for drifted := range jobs {
		d := (*drift)(nil)
		if drifted {
			d = dr
		}
		a := gen.next(d)
		user := "user-" + strconv.Itoa(int(gen.rng.Uint64N(5000)))
		n++
		rid := fmt.Sprintf("w%d-%d", id, n)
		var ok bool
		if t.cc != nil {
			ok = t.callGRPC(rid, user, a)
		} else {
			body = fmt.Appendf(body[:0], `{"instances":[{"age":%g,"income":%g,"debt_ratio":%g,"country":%q,"channel":%q}]}`,
				a.Age, a.Income, a.DebtRatio, a.Country, a.Channel)
			req.Reset()
			req.SetRequestURI("http://" + t.addr + "/v1/models/credit:predict")
			req.Header.SetMethod("POST")
			req.Header.SetContentType("application/json")
			req.Header.Set("X-User-Id", user)
			req.Header.Set("X-Request-Id", rid)
			req.SetBody(body)
			err := t.client.DoTimeout(req, resp, 5*time.Second)
			t.sent.Add(1)
			ok = err == nil && resp.StatusCode() == 200
			if !ok {
				t.errors.Add(1)
			}
		}
		// The outcome and its share are drawn for every request, so that
		// the traffic is the same whether labels are sent or not.
		outcome, labelled := gen.label(a, d) == 1, gen.rng.Float64() < LabelShare
		if ok && labelled && t.labels != nil {
			t.labels.Add(rid, outcome)
		}
	}
}

// callGRPC sends one ModelInfer call for a, sticky by user, and reports
// whether it succeeded.
func (t *traffic) callGRPC(id, user string, a applicant) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, resp := inferRequest(id, a), []byte(nil)
	err := t.cc.Invoke(metadata.AppendToOutgoingContext(ctx, "x-user-id", user), methodModelInfer, &req, &resp)
	t.sent.Add(1)
	if err != nil {
		t.errors.Add(1)
	}
	return err == nil
}

// freeOr returns addr if it can be bound now, else a free port on its
// host.
func freeOr(addr string) string {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		_ = ln.Close()
		return addr
	}
	host, _, _ := net.SplitHostPort(addr)
	return net.JoinHostPort(host, "0")
}
