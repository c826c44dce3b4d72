package soak

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/driftcar/driftcar/bench/loadgen"
)

// Report is the outcome of one soak.
type Report struct {
	Options Settings  `json:"options"`
	Started time.Time `json:"started"`
	CPUs    int       `json:"cpus"`
	Samples []Sample  `json:"samples"`
	Notes   []string  `json:"notes,omitempty"`

	Client   ClientOutcome  `json:"client"`
	Stubs    StubCounts     `json:"stubs"`
	Driftcar DriftcarCounts `json:"driftcar"`
	Changes  ChangeCounts   `json:"changes"`
	// Growth compares the mean of the last quarter with the second's.
	Growth map[string]Growth `json:"growth"`
	// Drift is how the injected drift was detected.
	Drift  DriftOutcome `json:"drift"`
	Checks []Check      `json:"checks"`
	Pass   bool         `json:"pass"`
}

// Settings are the options a report shows.
type Settings struct {
	Duration    string  `json:"duration"`
	Warmup      string  `json:"warmup"`
	Rate        float64 `json:"rate"`
	Conns       int     `json:"conns"`
	Interval    string  `json:"interval"`
	ChangeEvery string  `json:"change_every"`
	DriftPeriod string  `json:"drift_period"`
	BurstPeriod string  `json:"burst_period"`
	Seed        uint64  `json:"seed"`
}

func (o Options) public() Settings {
	return Settings{Duration: o.Duration.String(), Warmup: o.Warmup.String(), Rate: o.Rate, Conns: o.Conns, Interval: o.Interval.String(), ChangeEvery: o.ChangeEvery.String(),
		DriftPeriod: o.DriftPeriod.String(), BurstPeriod: o.BurstPeriod.String(), Seed: o.Seed}
}

// ClientOutcome is what the load generator saw.
type ClientOutcome struct {
	// Sent and Responses include the Prewarmed requests that opened the
	// client's connection pool before the timed traffic.
	Sent, Responses, NoResponse, Prewarmed int64
	OK, UpstreamFaults, DriftcarErr        uint64
	// SentRate is Sent over the planned duration.
	SentRate float64
	Latency  loadgen.Percentiles
	// ErrorExamples are the driftcar-caused failures, by kind.
	ErrorExamples map[string]int `json:",omitempty"`
}

// StubCounts are the requests the stubs received and the faults they
// injected.
type StubCounts struct {
	Live, Canary, Shadow uint64
	CanaryInjected       uint64
	ShadowInjected       map[string]uint64
	WebhookCalls         uint64
	WebhookAnswered      uint64
	LogCalls             uint64
	LogAccepted          uint64
}

// DriftcarCounts are driftcar's own final counts.
type DriftcarCounts struct {
	Exit    string         `json:"exit"`
	Panics  []string       `json:"panics,omitempty"`
	Drained bool           `json:"drained"`
	Metrics map[string]any `json:"metrics"`
	Logged  map[string]int `json:"logged"`
}

// DriftOutcome compares the drift driftcar reported with the injected
// drift: f1 shifted during every on-phase; f2 and cat never change.
type DriftOutcome struct {
	// Phases is the number of on-phases that ended before the traffic;
	// Detected those in which f1 entered drift, after Delays.
	Phases, Detected int
	Delays           []string
	// Undrifted counts entries into drift of f2 and cat (false alarms).
	Undrifted int
}

// ChangeCounts are the config changes made.
type ChangeCounts struct {
	Pushes, Reloads, Failed int
}

// Growth is a quantity's mean over the second and the last quarter.
type Growth struct {
	Q2, Q4 float64
	// Ratio is Q4/Q2 - 1.
	Ratio float64
}

// Check is one judged line of the report.
type Check struct {
	Kind string `json:"kind"` // criterion, accounting or exercised
	Name string `json:"name"`
	Got  string `json:"got"`
	Want string `json:"want"`
	OK   bool   `json:"ok"`
}

const maxGrowth = 0.05

func (rep *Report) fill(s *soak, res *loadgen.Result, m metrics, drained bool, exit error) {
	rep.CPUs = runtime.NumCPU()
	t := s.traffic
	rep.Client = ClientOutcome{
		Sent: res.Sent + t.prewarmed.Load(), Responses: res.Responses + t.prewarmed.Load(), NoResponse: res.Errors,
		Prewarmed: t.prewarmed.Load(),
		OK:        t.ok.Load(), UpstreamFaults: t.upstreamFaults.Load(), DriftcarErr: t.driftcarErrors.Load(),
		SentRate: float64(res.Sent) / res.Planned.Seconds(), Latency: res.Latency.Summary(),
		ErrorExamples: t.errorExamples(),
	}
	shadowInjected := map[string]uint64{}
	for f := faultError; f < numFaults; f++ {
		shadowInjected[faultNames[f]] = s.shadow.injected[f].Load()
	}
	rep.Stubs = StubCounts{
		Live: s.live.received.Load(), Canary: s.canary.received.Load(), Shadow: s.shadow.received.Load(),
		CanaryInjected: s.canary.injected[faultError].Load(), ShadowInjected: shadowInjected,
		WebhookCalls: s.hook.calls.Load(), WebhookAnswered: s.hook.answers.Load(),
		LogCalls: s.logs.calls.Load(), LogAccepted: s.logs.accepted(),
	}
	logged, panics := s.proc.counts()
	exitText := "0"
	if exit != nil {
		exitText = exit.Error()
	}
	requests := m.sum("driftcar_requests_total")
	route := m.sum("driftcar_requests_total", "route", "predict")
	arms := m.sum("driftcar_requests_total", "arm", "live") + m.sum("driftcar_requests_total", "arm", "canary")
	shadow := m.by("driftcar_shadow_requests_total", "result")
	comparisons := m.sum("driftcar_shadow_comparisons_total")
	expired := m.sum("driftcar_shadow_pairs_expired_total")
	statusDiffer := m.sum("driftcar_shadow_status_mismatch_total")
	failedAlike := m.sum("driftcar_shadow_pairs_failed_alike_total")
	rows := m.sum("driftcar_sampler_rows_total")
	dropped := m.by("driftcar_sampler_dropped_total", "reason")
	invalid := m.sum("driftcar_sampler_invalid_total")
	hook := m.by("driftcar_webhook_notifications_total", "result")
	rollbacks := m.sum("driftcar_canary_rollback_total")
	nacks := m.sum("driftcar_xds_updates_total", "result", "nack")
	upstreamErrors := m.by("driftcar_upstream_errors_total", "arm")
	logWritten := m.sum("driftcar_log_records_total", "sink", "events", "result", "written")
	logDropped := m.sum("driftcar_log_dropped_total", "sink", "events")
	logQueued := m.sum("driftcar_log_queue_records", "sink", "events")
	fileWritten := m.sum("driftcar_log_records_total", "sink", "file", "result", "written")
	fileDropped := m.sum("driftcar_log_dropped_total", "sink", "file")
	captureDropped := m.sum("driftcar_log_dropped_total", "sink", "_capture")
	rep.Driftcar = DriftcarCounts{
		Exit: exitText, Panics: panics, Drained: drained, Logged: logged,
		Metrics: map[string]any{
			"requests": requests, "shadow_requests": shadow, "shadow_comparisons": comparisons,
			"shadow_pairs_expired": expired, "shadow_status_mismatch": statusDiffer, "shadow_pairs_failed_alike": failedAlike,
			"sampler_rows": rows, "sampler_dropped": dropped,
			"sampler_invalid": invalid, "webhook": hook, "canary_rollbacks": rollbacks,
			"xds_nacks": nacks, "upstream_errors": upstreamErrors,
			"fallbacks":          m.sum("driftcar_fallbacks_total"),
			"drift_evaluations":  m.sum("driftcar_drift_evaluations_total"),
			"log_events_written": logWritten, "log_events_dropped": logDropped, "log_events_queued": logQueued, "log_file_written": fileWritten,
			"log_file_dropped": fileDropped, "log_capture_dropped": captureDropped,
		},
	}
	rep.Changes = ChangeCounts{Pushes: s.changes.pushes, Reloads: s.changes.reloads, Failed: s.changes.failed}
	rep.Growth = map[string]Growth{}
	for name, get := range map[string]func(Sample) float64{
		"rss":        func(x Sample) float64 { return float64(x.RSS) },
		"heap":       func(x Sample) float64 { return x.Heap },
		"goroutines": func(x Sample) float64 { return x.Goroutines },
		"fds":        func(x Sample) float64 { return float64(x.FDs) },
	} {
		rep.Growth[name] = growth(rep.Samples, s.opts.Warmup, s.opts.Duration, get)
	}

	rep.Drift = driftOutcome(s.proc.driftEntries(), s.began, s.opts.DriftPeriod, s.opts.Warmup+s.opts.Duration)

	c := &rep.Checks
	add := func(kind, name string, ok bool, got, want string) {
		*c = append(*c, Check{Kind: kind, Name: name, Got: got, Want: want, OK: ok})
	}
	eq := func(name string, a, b float64, left, right string) {
		add("accounting", name, a == b, fmt.Sprintf("%s %.0f, %s %.0f", left, a, right, b), "equal")
	}
	atLeastOne := func(name string, n float64) {
		add("exercised", name, n >= 1, fmt.Sprintf("%.0f", n), "≥ 1")
	}
	// Criteria.
	add("criterion", "client-visible errors caused by driftcar", rep.Client.DriftcarErr == 0,
		strconv.FormatUint(rep.Client.DriftcarErr, 10), "0")
	add("criterion", "offered rate held", rep.Client.SentRate >= 0.99*s.opts.Rate && rep.Client.Sent > 0,
		fmt.Sprintf("%.0f requests/s", rep.Client.SentRate), fmt.Sprintf("≥ %.0f", 0.99*s.opts.Rate))
	for _, name := range []string{"rss", "goroutines"} {
		g := rep.Growth[name]
		add("criterion", name+" growth, 2nd to last quarter", g.Q2 > 0 && g.Ratio < maxGrowth,
			fmt.Sprintf("%+.2f%% (%s → %s)", 100*g.Ratio, human(name, g.Q2), human(name, g.Q4)), fmt.Sprintf("< %+.0f%%", 100*maxGrowth))
	}
	add("criterion", "no panic, clean exit", len(panics) == 0 && exit == nil,
		fmt.Sprintf("%d panic lines, exit %s", len(panics), exitText), "0 panics, exit 0")
	add("criterion", "queues drained after the traffic", drained, strconv.FormatBool(drained), "true")
	// Every drop counted: each request is accounted for everywhere.
	pre := t.prewarmed.Load()
	eq("client: sent = 2xx + injected 5xx + driftcar errors", float64(res.Sent+pre),
		float64(rep.Client.OK+rep.Client.UpstreamFaults+rep.Client.DriftcarErr), "sent", "sum")
	eq("proxy: answered = driftcar_requests_total", float64(res.Responses+pre), requests, "client responses", "driftcar")
	eq("models: live + canary received = proxied to them", float64(rep.Stubs.Live+rep.Stubs.Canary), arms, "stubs", "driftcar")
	eq("shadow: every request has one shadow result", route, sumValues(shadow), "route requests", "shadow results")
	eq("shadow: mirrored = received by the shadow", shadow["ok"]+shadow["error"]+shadow["timeout"], float64(rep.Stubs.Shadow), "ok+error+timeout", "shadow stub")
	// One instance per request: compared elements are compared pairs.
	eq("shadow: ok answers = compared + status differs + failed alike + expired", shadow["ok"],
		comparisons+statusDiffer+failedAlike+expired, "ok", "pairs")
	eq("sampler: route requests = rows + dropped + invalid", route, rows+sumValues(dropped)+invalid, "requests", "accounted")
	eq("webhook: target's 2xx = sent", float64(rep.Stubs.WebhookAnswered), hook["sent"], "target", "driftcar")
	eq("log (file): route requests = written + dropped by the sink + dropped by the capture", route, fileWritten+fileDropped+captureDropped, "requests", "accounted")
	eq("log (events): route requests = written + dropped or still queued by the sink + dropped by the capture", route, logWritten+logDropped+logQueued+captureDropped, "requests", "accounted")
	eq("log: receiver's distinct accepted events = written", float64(rep.Stubs.LogAccepted), logWritten, "receiver", "driftcar")
	eq("config: applied = 1 + pushes + reloads", float64(logged["xds config applied"]), float64(1+rep.Changes.Pushes+rep.Changes.Reloads), "logged", "made")
	eq("config: base reloads logged = SIGHUPs sent", float64(logged["base file reloaded under the xDS config"]), float64(rep.Changes.Reloads), "logged", "sent")
	eq("xDS: NACKs", nacks, 0, "nacks", "want")
	eq("canary: rollbacks counted = logged", rollbacks, float64(logged["canary rolled back"]), "metric", "log")
	// The run exercised what it claims to.
	atLeastOne("canary rollbacks", rollbacks)
	atLeastOne("drift alerts (webhook notifications)", sumValues(hook))
	add("exercised", "injected drift detected (f1), in each on-phase", rep.Drift.Phases > 0 && rep.Drift.Detected == rep.Drift.Phases,
		fmt.Sprintf("%d of %d phases, after %s", rep.Drift.Detected, rep.Drift.Phases, strings.Join(rep.Drift.Delays, ", ")), "all")
	add("exercised", "undrifted features entering drift (f2, cat)", rep.Drift.Undrifted == 0, strconv.Itoa(rep.Drift.Undrifted), "0")
	atLeastOne("webhook calls that failed", float64(rep.Stubs.WebhookCalls-rep.Stubs.WebhookAnswered))
	atLeastOne("log events refused or left unanswered by the receiver", float64(rep.Stubs.LogCalls)-float64(rep.Stubs.LogAccepted))
	atLeastOne("shadow errors and timeouts", shadow["error"]+shadow["timeout"])
	atLeastOne("injected canary 5xx seen by clients", float64(rep.Client.UpstreamFaults))
	atLeastOne("xDS pushes", float64(rep.Changes.Pushes))
	atLeastOne("base-file reloads", float64(rep.Changes.Reloads))

	rep.Pass = true
	for _, ch := range rep.Checks {
		rep.Pass = rep.Pass && ch.OK
	}
}

func driftOutcome(entries map[string][]time.Time, start time.Time, period, total time.Duration) DriftOutcome {
	var out DriftOutcome
	for on := period; on+period <= total; on += 2 * period {
		out.Phases++
		from, to := start.Add(on), start.Add(on+period)
		for _, at := range entries["f1"] {
			if !at.Before(from) && at.Before(to) {
				out.Detected++
				out.Delays = append(out.Delays, at.Sub(from).Round(100*time.Millisecond).String())
				break
			}
		}
	}
	out.Undrifted = len(entries["f2"]) + len(entries["cat"])
	return out
}

func sumValues(m map[string]float64) float64 {
	t := 0.0
	for _, v := range m {
		t += v
	}
	return t
}

// growth compares the mean over the second quarter of the measured run
// (after warmup, for d) with the mean over the last.
func growth(samples []Sample, warmup, d time.Duration, get func(Sample) float64) Growth {
	var q2, q4 []float64
	for _, s := range samples {
		switch at := s.At - warmup; {
		case at >= d/4 && at < d/2:
			q2 = append(q2, get(s))
		case at >= 3*d/4:
			q4 = append(q4, get(s))
		}
	}
	g := Growth{Q2: mean(q2), Q4: mean(q4)}
	if g.Q2 > 0 {
		g.Ratio = g.Q4/g.Q2 - 1
	}
	return g
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

func human(name string, v float64) string {
	switch name {
	case "rss", "heap":
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	}
	return fmt.Sprintf("%.1f", v)
}

// JSON is the whole report, samples included.
func (rep *Report) JSON() ([]byte, error) { return json.MarshalIndent(rep, "", "  ") }

// Markdown is the report for humans; plot names the SVG next to it.
func (rep *Report) Markdown(command, plot string) []byte {
	var b bytes.Buffer
	verdict := "PASS"
	if !rep.Pass {
		verdict = "FAIL"
	}
	o := rep.Options
	fmt.Fprintf(&b, "# driftcar soak: %s\n\n", verdict)
	fmt.Fprintf(&b, "Started %s on %d CPUs. Command: `%s`.\n\n", rep.Started.Format(time.RFC3339), rep.CPUs, command)
	fmt.Fprintf(&b, "%s measured after %s of warm-up, at %.0f requests/s (open loop, at most %d connections), all at once: a config change every %s (xDS push and base-file SIGHUP in turn), "+
		"drift injected %s on / %s off, canary failing 30%% of its requests half of every %s, a flaky slow shadow "+
		"(5%% 500s, 3%% resets, 2%% past its %s timeout, up to 20 ms jitter), a webhook target failing every other call, and a prediction-log receiver refusing every fifth event.\n\n",
		o.Duration, o.Warmup, o.Rate, o.Conns, o.ChangeEvery, o.DriftPeriod, o.DriftPeriod, o.BurstPeriod, shadowTimeout)
	if plot != "" {
		fmt.Fprintf(&b, "![RSS, heap, goroutines, fds and queues over time](%s)\n\n", plot)
	}
	for _, kind := range []string{"criterion", "accounting", "exercised"} {
		title := map[string]string{"criterion": "Pass criteria", "accounting": "Every drop counted", "exercised": "What the run exercised"}[kind]
		fmt.Fprintf(&b, "## %s\n\n| check | got | want | ok |\n|---|---|---|---|\n", title)
		for _, c := range rep.Checks {
			if c.Kind == kind {
				mark := "yes"
				if !c.OK {
					mark = "**NO**"
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.Name, c.Got, c.Want, mark)
			}
		}
		b.WriteString("\n")
	}
	c := rep.Client
	fmt.Fprintf(&b, "## Traffic\n\n- sent %d (%.0f/s), answered %d: %d 2xx, %d injected canary 5xx passed through, %d driftcar-caused failures\n",
		c.Sent, c.SentRate, c.Responses, c.OK, c.UpstreamFaults, c.DriftcarErr)
	fmt.Fprintf(&b, "- latency from the intended send time: p50 %s, p90 %s, p99 %s, p99.9 %s, max %s\n",
		c.Latency.P50, c.Latency.P90, c.Latency.P99, c.Latency.P999, c.Latency.Max)
	for _, k := range slices.Sorted(maps.Keys(c.ErrorExamples)) {
		fmt.Fprintf(&b, "- driftcar-caused: %d × `%s`\n", c.ErrorExamples[k], k)
	}
	st := rep.Stubs
	fmt.Fprintf(&b, "- stubs received: live %d, canary %d (%d injected 500s), shadow %d (injected %v); webhook %d calls, %d answered 2xx\n",
		st.Live, st.Canary, st.CanaryInjected, st.Shadow, st.ShadowInjected, st.WebhookCalls, st.WebhookAnswered)
	fmt.Fprintf(&b, "- config changes: %d xDS pushes, %d base-file reloads, %d failed to write\n\n", rep.Changes.Pushes, rep.Changes.Reloads, rep.Changes.Failed)
	fmt.Fprintf(&b, "## Process\n\n| quantity | 2nd quarter mean | last quarter mean | growth |\n|---|---|---|---|\n")
	for _, name := range []string{"rss", "heap", "goroutines", "fds"} {
		g := rep.Growth[name]
		fmt.Fprintf(&b, "| %s | %s | %s | %+.2f%% |\n", name, human(name, g.Q2), human(name, g.Q4), 100*g.Ratio)
	}
	var maxShadowQ, maxSamplerQ, maxInflight float64
	for _, s := range rep.Samples {
		maxShadowQ, maxSamplerQ = max(maxShadowQ, s.ShadowQueue), max(maxSamplerQ, s.SamplerQueue)
		maxInflight = max(maxInflight, float64(s.ClientInflight))
	}
	fmt.Fprintf(&b, "\nLargest sampled queues: shadow %.0f, sampler %.0f; client requests in flight %.0f. %d samples, every %s.\n\n",
		maxShadowQ, maxSamplerQ, maxInflight, len(rep.Samples), o.Interval)
	metrics, _ := json.MarshalIndent(rep.Driftcar.Metrics, "", "  ")
	fmt.Fprintf(&b, "## driftcar's final counts\n\n```json\n%s\n```\n", metrics)
	if len(rep.Driftcar.Panics) > 0 {
		fmt.Fprintf(&b, "\nPanic lines:\n\n```\n%s\n```\n", strings.Join(rep.Driftcar.Panics, "\n"))
	}
	if len(rep.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range rep.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.Bytes()
}
