package soak

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// faultHeader marks an error a stub injected on purpose, so that the
// client can tell it from an error driftcar made.
const faultHeader = "X-Soak-Fault"

// model is a stub model server over KServe v1: one numeric prediction per
// instance, a logistic function of f1 and f2.
type model struct {
	name string
	srv  *fasthttp.Server
	ln   net.Listener
	pool fastjson.ParserPool
	// fault, when set, decides per request what goes wrong.
	fault func(r *rand.Rand) fault
	// skew is added to every prediction (a shadow that disagrees).
	skew float64

	rngs     sync.Pool
	received atomic.Uint64
	injected [numFaults]atomic.Uint64
}

type fault int

const (
	faultNone   fault = iota
	faultError        // 500 with faultHeader
	faultReset        // the connection closed without an answer
	faultSlow         // an answer after slowDelay
	faultJitter       // an answer after up to jitterMax
	numFaults
)

var faultNames = [numFaults]string{"none", "error_500", "reset", "slow", "jitter"}

const (
	slowDelay = 1500 * time.Millisecond // past the shadow's timeout
	jitterMax = 20 * time.Millisecond
)

func startModel(name string, seed uint64, f func(*rand.Rand) fault, skew float64) (*model, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot start the %s model: %w", name, err)
	}
	m := &model{name: name, ln: ln, fault: f, skew: skew}
	var seq atomic.Uint64
	m.rngs.New = func() any { return rand.New(rand.NewPCG(seed, seq.Add(1))) }
	// The injected resets make fasthttp log a failed write per request.
	m.srv = &fasthttp.Server{Handler: m.handle, NoDefaultServerHeader: true, NoDefaultDate: true, Logger: quiet{}}
	go func() { _ = m.srv.Serve(ln) }()
	return m, nil
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

func (m *model) addr() string { return m.ln.Addr().String() }

func (m *model) stop(ctx context.Context) { _ = m.srv.ShutdownWithContext(ctx) }

func (m *model) handle(ctx *fasthttp.RequestCtx) {
	m.received.Add(1)
	if m.fault != nil {
		r := m.rngs.Get().(*rand.Rand)
		f := m.fault(r)
		delay := time.Duration(r.Int64N(int64(jitterMax)))
		m.rngs.Put(r)
		m.injected[f].Add(1)
		switch f {
		case faultError:
			ctx.Response.Header.Set(faultHeader, m.name)
			ctx.SetStatusCode(fasthttp.StatusInternalServerError)
			ctx.SetBodyString(`{"error":"injected"}`)
			return
		case faultReset:
			_ = ctx.Conn().Close()
			return
		case faultSlow:
			time.Sleep(slowDelay)
		case faultJitter:
			time.Sleep(delay)
		}
	}
	p := m.pool.Get()
	defer m.pool.Put(p)
	v, err := p.ParseBytes(ctx.PostBody())
	if err != nil {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.SetBodyString(`{"error":"body is not JSON"}`)
		return
	}
	out := append(make([]byte, 0, 64), `{"predictions":[`...)
	for i, in := range v.GetArray("instances") {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendFloat(out, math.Min(1, m.score(in.GetFloat64("f1"), in.GetFloat64("f2"))+m.skew), 'f', 5, 64)
	}
	out = append(out, `]}`...)
	ctx.SetContentType("application/json")
	ctx.SetBody(out)
}

// score is the model: a logistic function of f1 and f2.
func (m *model) score(f1, f2 float64) float64 {
	return 1 / (1 + math.Exp(-(0.8*f1 + 0.3*f2 - 1.5)))
}

// canaryFaults fails errorShare of the requests while burst reports true.
func canaryFaults(burst func() bool, errorShare float64) func(*rand.Rand) fault {
	return func(r *rand.Rand) fault {
		if burst() && r.Float64() < errorShare {
			return faultError
		}
		return faultNone
	}
}

// shadowFaults is a flaky, slow shadow.
func shadowFaults(r *rand.Rand) fault {
	switch x := r.Float64(); {
	case x < 0.05:
		return faultError
	case x < 0.08:
		return faultReset
	case x < 0.10:
		return faultSlow
	default:
		return faultJitter
	}
}

// webhook is a notification target that answers 500 to every other call.
type webhook struct {
	srv            *http.Server
	ln             net.Listener
	calls, answers atomic.Uint64 // answers counts the 2xx ones
}

func startWebhook() (*webhook, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot start the webhook target: %w", err)
	}
	w := &webhook{ln: ln}
	w.srv = &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if w.calls.Add(1)%2 == 1 {
			http.Error(rw, "injected failure", http.StatusInternalServerError)
			return
		}
		w.answers.Add(1)
		rw.WriteHeader(http.StatusNoContent)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = w.srv.Serve(ln) }()
	return w, nil
}

// logReceiver takes the prediction log's CloudEvents and answers 500 to
// every fifth; it counts the distinct event ids it accepted. A dead one
// holds every request unanswered until the client gives up.
type logReceiver struct {
	srv   *http.Server
	ln    net.Listener
	calls atomic.Uint64
	mu    sync.Mutex
	ids   map[string]bool
}

func startLogReceiver(dead bool) (*logReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot start the log receiver: %w", err)
	}
	lr := &logReceiver{ln: ln, ids: map[string]bool{}}
	lr.srv = &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if dead {
			lr.calls.Add(1)
			<-r.Context().Done()
			return
		}
		if lr.calls.Add(1)%5 == 0 {
			http.Error(rw, "injected failure", http.StatusInternalServerError)
			return
		}
		lr.mu.Lock()
		lr.ids[r.Header.Get("Ce-Id")] = true
		lr.mu.Unlock()
		rw.WriteHeader(http.StatusAccepted)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = lr.srv.Serve(ln) }()
	return lr, nil
}

func (lr *logReceiver) url() string { return "http://" + lr.ln.Addr().String() + "/" }

func (lr *logReceiver) accepted() uint64 {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return uint64(len(lr.ids))
}

func (lr *logReceiver) stop(ctx context.Context) { _ = lr.srv.Shutdown(ctx) }

func (w *webhook) url() string { return "http://" + w.ln.Addr().String() + "/retrain" }

func (w *webhook) stop(ctx context.Context) { _ = w.srv.Shutdown(ctx) }
