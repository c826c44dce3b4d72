package llm

import "github.com/prometheus/client_golang/prometheus"

// finishReasons are the finish reasons with a label value of their own;
// any other counts as "other", an answer without one as "none".
var finishReasons = []string{"stop", "length", "tool_calls", "content_filter", "function_call"}

// finishLabels are every value of the reason label.
var finishLabels = append(finishReasons[:len(finishReasons):len(finishReasons)], "other", "none")

// Reasons an answer's tokens were not counted: the uncounted reason label.
const (
	uncountedQueueFull    = "queue_full"
	uncountedBytesFull    = "bytes_full"
	uncountedTooLarge     = "body_too_large"
	uncountedReconfigured = "reconfigured"
	uncountedUndecodable  = "undecodable"
	uncountedNoUsage      = "no_usage"
)

var uncountedReasons = []string{uncountedQueueFull, uncountedBytesFull, uncountedTooLarge,
	uncountedReconfigured, uncountedUndecodable, uncountedNoUsage}

// Metrics are the collectors of every Counter on one registry. Create
// them once with NewMetrics.
type Metrics struct {
	tokens    *prometheus.CounterVec
	finish    *prometheus.CounterVec
	uncounted *prometheus.CounterVec
}

// NewMetrics registers the collectors with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftcar_llm_tokens_total",
			Help: "Tokens of answers by route, arm, kind (prompt, completion) and source (usage: the server's usage object; chunks: counted stream chunks that carried text).",
		}, []string{"route", "arm", "kind", "source"}),
		finish: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftcar_llm_finish_total",
			Help: "Answers by route, arm and finish reason (other: a reason not listed; none: no reason given).",
		}, []string{"route", "arm", "reason"}),
		uncounted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftcar_llm_uncounted_total",
			Help: "Answers whose tokens were not counted, by route and reason.",
		}, []string{"route", "reason"}),
	}
	reg.MustRegister(m.tokens, m.finish, m.uncounted)
	return m
}

// Forget deletes the series of a route no config serves any more.
func (m *Metrics) Forget(route string) {
	labels := prometheus.Labels{"route": route}
	m.tokens.DeletePartialMatch(labels)
	m.finish.DeletePartialMatch(labels)
	m.uncounted.DeletePartialMatch(labels)
}

func finishLabel(reason []byte) string {
	if len(reason) == 0 {
		return "none"
	}
	for _, r := range finishReasons {
		if string(reason) == r {
			return r
		}
	}
	return "other"
}
