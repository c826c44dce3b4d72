package panics

import (
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// LogEvery is the least time between two logged panics of one component;
// the ones in between are counted and reported with the next log line.
const LogEvery = time.Minute

// Counter counts and logs recovered worker panics.
type Counter struct {
	total *prometheus.CounterVec
	log   *zap.Logger
	now   func() time.Time

	mu   sync.Mutex
	last map[string]logState
}

type logState struct {
	at         time.Time
	suppressed int
}

// Components are the label values of driftcar_worker_panics_total,
// exported from the start at zero.
var Components = []string{"sampler", "shadow", "llm", "log"}

// NewCounter registers driftcar_worker_panics_total{component} with reg.
// now may be nil for time.Now.
func NewCounter(reg prometheus.Registerer, log *zap.Logger, now func() time.Time) *Counter {
	if log == nil {
		log = zap.NewNop()
	}
	if now == nil {
		now = time.Now
	}
	c := &Counter{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftcar_worker_panics_total",
			Help: "Panics recovered in workers that parse request and response bodies, by component.",
		}, []string{"component"}),
		log:  log,
		now:  now,
		last: map[string]logState{},
	}
	for _, comp := range Components {
		c.total.WithLabelValues(comp)
	}
	reg.MustRegister(c.total)
	return c
}

// Recover, deferred by a worker around one item, recovers a panic of that
// item, counts it for component and logs it. A nil Counter does not
// recover.
func (c *Counter) Recover(component string) {
	if c == nil {
		return
	}
	if v := recover(); v != nil {
		c.record(component, v, debug.Stack())
	}
}

func (c *Counter) record(component string, v any, stack []byte) {
	c.total.WithLabelValues(component).Inc()
	c.mu.Lock()
	st, seen := c.last[component]
	now := c.now()
	if seen && now.Sub(st.at) < LogEvery {
		st.suppressed++
		c.last[component] = st
		c.mu.Unlock()
		return
	}
	c.last[component] = logState{at: now}
	c.mu.Unlock()
	c.log.Error("worker panic recovered; the item is dropped and the worker goes on",
		zap.String("component", component),
		zap.String("panic", fmt.Sprint(v)),
		zap.Int("suppressed_since_last_log", st.suppressed),
		zap.ByteString("stack", stack))
}
