package guard

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var testBounds = []float64{0.001, 0.01, 0.1, 1}

// fakeArms is an in-memory Arms whose traffic the test adds.
type fakeArms struct {
	mu      sync.Mutex
	stats   map[string]*Stats // by arm; one route, "predict"
	weights []string          // SetWeight calls, "arm=weight"
	err     error             // SetWeight's answer
}

var _ Arms = (*fakeArms)(nil)

func newFakeArms(arms ...string) *fakeArms {
	f := &fakeArms{stats: map[string]*Stats{}}
	for _, a := range arms {
		f.stats[a] = &Stats{Bounds: testBounds, Buckets: make([]uint64, len(testBounds)), FirstToken: make([]uint64, len(testBounds))}
	}
	return f
}

// add records n requests of arm, errors of them 5xx, all taking latency.
func (f *fakeArms) add(arm string, n, errors uint64, latency float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.stats[arm]
	st.Requests += n
	st.Errors += errors
	for i, b := range st.Bounds {
		if latency <= b {
			st.Buckets[i] += n
		}
	}
}

// addStreams records n streamed answers of arm whose first chunk came
// after ttft.
func (f *fakeArms) addStreams(arm string, n uint64, ttft float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.stats[arm]
	st.Streams += n
	for i, b := range st.Bounds {
		if ttft <= b {
			st.FirstToken[i] += n
		}
	}
}

func (f *fakeArms) ArmStats(route, arm string) (Stats, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.stats[arm]
	if route != "predict" || !ok {
		return Stats{}, false
	}
	out := *st
	out.Buckets = append([]uint64(nil), st.Buckets...)
	out.FirstToken = append([]uint64(nil), st.FirstToken...)
	return out, true
}

func (f *fakeArms) SetWeight(route, arm string, weight int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.weights = append(f.weights, route+"/"+arm+"="+strconv.Itoa(weight))
	return nil
}

func (f *fakeArms) setWeights() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.weights...)
}

func testOptions() Options {
	return Options{
		Rollback: true, MinRequests: 200, MaxErrorRateIncrease: 0.01,
		MaxLatencyP99Ratio: 1.5, MaxTTFTP99Ratio: 1.5, Window: time.Minute,
	}
}

func newTestGuard(opts Options, arms Arms) *Guard {
	return New(opts, arms, map[string][]string{"predict": {"live", "canary"}}, []string{"predict"}, nil)
}

func state(g *Guard) string {
	if v := g.View(); len(v) == 1 {
		return v[0].State
	}
	return ""
}

func TestGuardJudgesCanaries(t *testing.T) {
	cases := []struct {
		name           string
		canaryErrors   uint64
		canaryLatency  float64
		canaryTTFT     float64 // 0: no streams
		rollback       bool
		wantState      string
		wantReason     string
		wantSetWeights []string
	}{
		{"healthy", 0, 0.005, 0, true, "ok", "", nil},
		{"healthy streams", 0, 0.005, 0.005, true, "ok", "", nil},
		{"errors", 200, 0.005, 0, true, "rolled_back", "error_rate", []string{"predict/canary=0"}},
		{"slow", 0, 0.5, 0, true, "rolled_back", "latency", []string{"predict/canary=0"}},
		{"slow first token", 0, 0.005, 0.5, true, "rolled_back", "time_to_first_token", []string{"predict/canary=0"}},
		{"errors, report only", 200, 0.005, 0, false, "rolled_back", "error_rate", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			arms := newFakeArms("live", "canary")
			opts := testOptions()
			opts.Rollback = tc.rollback
			g := newTestGuard(opts, arms)
			now := time.Unix(1e9, 0)
			g.Tick(now, nil)
			for tick := 1; tick <= 3; tick++ {
				if tick == 1 && state(g) != "insufficient_data" {
					t.Errorf("before traffic: got state %s; want insufficient_data", state(g))
				}
				arms.add("live", 1000, 0, 0.005)
				arms.add("canary", 1000, tc.canaryErrors, tc.canaryLatency)
				if tc.canaryTTFT > 0 {
					arms.addStreams("live", 1000, 0.005)
					arms.addStreams("canary", 1000, tc.canaryTTFT)
				}
				now = now.Add(10 * time.Second)
				g.Tick(now, nil)
				if tick < 3 && state(g) == "rolled_back" {
					t.Fatalf("rolled back after %d breaching ticks; want 3 (Confirm)", tick)
				}
			}
			if got := state(g); got != tc.wantState {
				t.Fatalf("state: got %s; want %s\n%+v", got, tc.wantState, g.View())
			}
			check := g.View()[0].Checks[0]
			if check.RollbackReason != tc.wantReason {
				t.Errorf("rollback reason: got %q; want %q", check.RollbackReason, tc.wantReason)
			}
			if check.Requests != 3000 || check.LiveRequests != 3000 {
				t.Errorf("window requests: got %d canary, %d live; want 3000 each", check.Requests, check.LiveRequests)
			}
			if got := arms.setWeights(); strings.Join(got, ",") != strings.Join(tc.wantSetWeights, ",") {
				t.Errorf("SetWeight calls: got %v; want %v", got, tc.wantSetWeights)
			}
		})
	}
}

// TestGuardJudgesTheWindowOnly: errors older than the window no longer
// count against the canary.
func TestGuardJudgesTheWindowOnly(t *testing.T) {
	arms := newFakeArms("live", "canary")
	opts := testOptions()
	opts.Confirm = 100
	g := newTestGuard(opts, arms)
	now := time.Unix(1e9, 0)
	g.Tick(now, nil)
	arms.add("live", 1000, 0, 0.005)
	arms.add("canary", 1000, 300, 0.005)
	now = now.Add(10 * time.Second)
	g.Tick(now, nil)
	if s := g.View()[0].Checks[0].Streak; s != 1 {
		t.Fatalf("streak after the bad tick: got %d; want 1", s)
	}
	for range 12 { // two minutes of clean traffic
		now = now.Add(10 * time.Second)
		arms.add("live", 1000, 0, 0.005)
		arms.add("canary", 1000, 0, 0.005)
		g.Tick(now, nil)
	}
	if got := state(g); got != "ok" {
		t.Errorf("state: got %s; want ok\n%+v", got, g.View())
	}
	c := g.View()[0].Checks[0]
	if c.ErrorRate == nil || *c.ErrorRate != 0 || c.Streak != 0 {
		t.Errorf("after the window: got error rate %v, streak %d; want 0, 0", c.ErrorRate, c.Streak)
	}
}

// TestGuardSkipsRoutesThatDoNotServe: a route whose arm the proxy does not
// know is not judged, and nothing is rolled back.
func TestGuardSkipsRoutesThatDoNotServe(t *testing.T) {
	arms := newFakeArms("live") // no canary arm serves
	g := newTestGuard(testOptions(), arms)
	now := time.Unix(1e9, 0)
	for range 5 {
		arms.add("live", 1000, 0, 0.005)
		g.Tick(now, nil)
		now = now.Add(10 * time.Second)
	}
	if got := state(g); got != "insufficient_data" {
		t.Errorf("state: got %s; want insufficient_data", got)
	}
}

// guardCollector exports one guard, as detector.Collector does.
type guardCollector struct{ g *Guard }

func (c guardCollector) Describe(ch chan<- *prometheus.Desc) { Describe(ch) }
func (c guardCollector) Collect(ch chan<- prometheus.Metric) { c.g.Collect(ch) }

// TestGuardMetricsAndCountsSurviveANewGuard: a failing SetWeight still
// counts the rollback, and the totals carry over to the next Guard.
func TestGuardMetricsAndCountsSurviveANewGuard(t *testing.T) {
	arms := newFakeArms("live", "canary")
	arms.err = errors.New("no such route")
	opts := testOptions()
	opts.Counts = NewRollbackCounts()
	g := newTestGuard(opts, arms)
	now := time.Unix(1e9, 0)
	g.Tick(now, nil)
	for range 3 {
		arms.add("live", 1000, 0, 0.005)
		arms.add("canary", 1000, 200, 0.005)
		now = now.Add(10 * time.Second)
		g.Tick(now, nil)
	}
	next := newTestGuard(opts, arms)
	want := `
# HELP driftcar_canary_rollback_total Canary rollbacks by reason.
# TYPE driftcar_canary_rollback_total counter
driftcar_canary_rollback_total{reason="accuracy",route="predict"} 0
driftcar_canary_rollback_total{reason="error_rate",route="predict"} 1
driftcar_canary_rollback_total{reason="latency",route="predict"} 0
driftcar_canary_rollback_total{reason="prediction_drift",route="predict"} 0
driftcar_canary_rollback_total{reason="time_to_first_token",route="predict"} 0
# HELP driftcar_canary_state Canary guard state: 0 ok, 1 insufficient_data, 2 rolled_back.
# TYPE driftcar_canary_state gauge
driftcar_canary_state{route="predict"} %d
`
	for _, tc := range []struct {
		g     *Guard
		state string
	}{{g, "2"}, {next, "1"}} {
		exp := strings.Replace(want, "%d", tc.state, 1)
		if err := testutil.CollectAndCompare(guardCollector{tc.g}, strings.NewReader(exp)); err != nil {
			t.Error(err)
		}
	}
}

// TestGuardRollsBackOnAnAccuracyDrop: a canary whose labelled accuracy is
// significantly lower than live's by more than max_accuracy_drop is rolled
// back; a drop within the tolerance, or too few labels, is not.
func TestGuardRollsBackOnAnAccuracyDrop(t *testing.T) {
	cases := []struct {
		name             string
		canaryWrong, n   uint64
		wantState, cause string
	}{
		{"worse by 15 points", 500, 2000, "rolled_back", "accuracy"},
		{"worse by 2 points, tolerated", 240, 2000, "ok", ""},
		{"too few labels", 40, 100, "ok", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			arms := newFakeArms("live", "canary")
			opts := testOptions()
			opts.MaxAccuracyDrop, opts.MinLabels = 0.05, 200
			opts.Labels = func(route, arm string) (uint64, uint64, bool) {
				if arm == "live" {
					return 200, 2000, true // accuracy 0.90
				}
				return tc.canaryWrong, tc.n, true
			}
			g := newTestGuard(opts, arms)
			now := time.Unix(1e9, 0)
			g.Tick(now, nil)
			for range 3 {
				arms.add("live", 1000, 0, 0.005)
				arms.add("canary", 1000, 0, 0.005)
				now = now.Add(10 * time.Second)
				g.Tick(now, nil)
			}
			if got := state(g); got != tc.wantState {
				t.Fatalf("state: got %s; want %s\n%+v", got, tc.wantState, g.View())
			}
			check := g.View()[0].Checks[0]
			if check.RollbackReason != tc.cause {
				t.Errorf("rollback reason: got %q; want %q", check.RollbackReason, tc.cause)
			}
			if tc.n >= 200 && (check.Accuracy == nil || check.LiveAccuracy == nil || *check.LiveAccuracy != 0.9) {
				t.Errorf("accuracies not reported: %+v", check)
			}
		})
	}
}
