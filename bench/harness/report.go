package harness

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/driftcar/driftcar/bench/loadgen"
)

// SchemaVersion is the version of the results JSON.
const SchemaVersion = 1

// Report is the outcome of one benchmark run, as written to
// bench/results/<date>-<host>.json. All latencies are in milliseconds.
type Report struct {
	Schema    int              `json:"schema"`
	Started   time.Time        `json:"started"`
	Finished  time.Time        `json:"finished"`
	Command   string           `json:"command"`
	Machine   Machine          `json:"machine"`
	Settings  Settings         `json:"settings"`
	Scenarios []ScenarioResult `json:"scenarios"`
	Ratios    []Ratio          `json:"ratios"`
	Notes     []string         `json:"notes,omitempty"`
	// Plot is the latency-vs-rate plot's file name, next to the report.
	Plot string      `json:"plot,omitempty"`
	Runs []RunRecord `json:"runs"`
}

// Machine describes where the benchmark ran.
type Machine struct {
	Host      string  `json:"host"`
	OS        string  `json:"os"`
	Kernel    string  `json:"kernel,omitempty"`
	CPUModel  string  `json:"cpu_model,omitempty"`
	CPUs      int     `json:"cpus"`
	MemoryGiB float64 `json:"memory_gib,omitempty"`
	Go        string  `json:"go"`
	Nginx     string  `json:"nginx,omitempty"`
}

// Settings are the options a report was made with.
type Settings struct {
	Short       bool      `json:"short"`
	Mode        string    `json:"mode"`
	Protocol    string    `json:"protocol"`
	Rounds      int       `json:"rounds"`
	DurationS   float64   `json:"duration_s"`
	WarmupS     float64   `json:"warmup_s"`
	Conns       int       `json:"conns"`
	Rates       []float64 `json:"rates"`
	TableRate   float64   `json:"table_rate"`
	MaxInFlight int       `json:"max_in_flight"`
	TimeoutS    float64   `json:"timeout_s"`
	LiveDelayMs float64   `json:"live_delay_ms"`
	ShadowDelay float64   `json:"slow_shadow_delay_ms"`
	ErrorRate   float64   `json:"error_rate"`
	GOMAXPROCS  int       `json:"driftcar_gomaxprocs,omitempty"`
}

// ScenarioResult is one scenario's figures, aggregated over its rounds.
type ScenarioResult struct {
	ScenarioInfo
	// Skipped says why the scenario did not run.
	Skipped string `json:"skipped,omitempty"`
	// Max is the closed-loop (maximum throughput) measurement.
	Max *Point `json:"max,omitempty"`
	// Sweep has one open-loop point per rate of Settings.Rates.
	Sweep []Point `json:"sweep,omitempty"`
	// PeakRSSMiB is the proxy process's peak resident set over the whole
	// benchmark (with an nginx master, its worker's added); absent when
	// driftcar ran in-process or there is no proxy.
	PeakRSSMiB *float64 `json:"peak_rss_mib,omitempty"`
	// Failed counts requests without a 2xx answer over every measured run.
	Failed int64 `json:"failed"`
	// Taps are driftcar's counters (deltas) summed over every measured run.
	Taps map[string]float64 `json:"taps,omitempty"`
}

// Point is one load level of one scenario.
type Point struct {
	Mode string `json:"mode"`
	// Offered is the open-loop rate; Conns the closed-loop concurrency.
	Offered float64 `json:"offered,omitempty"`
	Conns   int     `json:"conns,omitempty"`
	// Skipped says why there is no measurement at this rate.
	Skipped string `json:"skipped,omitempty"`
	// Achieved is responses per second: the median over rounds for
	// closed loop, all responses over all elapsed time for open loop.
	Achieved float64   `json:"achieved"`
	Rounds   []float64 `json:"rounds,omitempty"`
	Requests int64     `json:"requests"`
	Failed   int64     `json:"failed"`
	// Latency is coordinated-omission corrected (from the intended send
	// time) in open loop, and from the actual send in closed loop.
	Latency Latency `json:"latency_ms"`
	// Uncorrected is open-loop latency from the actual send time.
	Uncorrected *Latency `json:"uncorrected_ms,omitempty"`
	// SendLag is the generator's send delay (actual minus intended).
	SendLag *Latency `json:"send_lag_ms,omitempty"`
	// AddedP50 and AddedP99 are over direct at the same rate.
	AddedP50 *float64 `json:"added_p50_ms,omitempty"`
	AddedP99 *float64 `json:"added_p99_ms,omitempty"`
	// CPUPer1k is the proxy's CPU seconds per 1,000 requests. CPUEstimated
	// marks in-process estimates (see Notes).
	CPUPer1k     *float64 `json:"cpu_s_per_1k,omitempty"`
	CPUEstimated bool     `json:"cpu_estimated,omitempty"`
	// HarnessCPUPer1k is the harness process's (load generator, model
	// stubs and, in-process, driftcar) CPU seconds per 1,000 requests.
	HarnessCPUPer1k float64 `json:"harness_cpu_s_per_1k"`
	// PeakInFlight is the most requests the open-loop generator had in
	// flight at once, over the rounds.
	PeakInFlight int `json:"peak_in_flight,omitempty"`
	// Saturated: the scenario answered less than 95% of the offered rate.
	Saturated bool `json:"saturated,omitempty"`
}

// Latency percentiles, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Ratio compares two scenarios of the same run, against a target when
// the issue sets one.
type Ratio struct {
	Name  string   `json:"name"`
	Value *float64 `json:"value,omitempty"`
	// Detail shows the compared figures, e.g. "+0.120 vs +0.150 ms".
	Detail string `json:"detail,omitempty"`
	// Op is ">=" or "<=", Target the threshold; empty for information.
	Op     string  `json:"op,omitempty"`
	Target float64 `json:"target,omitempty"`
	// Met is nil when the ratio could not be computed or has no target.
	Met *bool `json:"met,omitempty"`
	// Missing says why the ratio could not be computed.
	Missing string `json:"missing,omitempty"`
}

// RunRecord is one measured run, for the per-round table.
type RunRecord struct {
	Scenario string   `json:"scenario"`
	Mode     string   `json:"mode"`
	Offered  float64  `json:"offered,omitempty"`
	Round    int      `json:"round"`
	Achieved float64  `json:"achieved"`
	P50      float64  `json:"p50_ms"`
	P99      float64  `json:"p99_ms"`
	Failed   int64    `json:"failed"`
	CPUPer1k *float64 `json:"cpu_s_per_1k,omitempty"`
	// InFlight is the open-loop generator's peak of requests in flight,
	// SendLagP99 its 99th percentile send delay: when they grow, the
	// scenario (or the machine) fell behind the schedule.
	InFlight   int     `json:"in_flight,omitempty"`
	SendLagP99 float64 `json:"send_lag_p99_ms,omitempty"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func latencyOf(h *loadgen.Histogram) Latency {
	s := h.Summary()
	return Latency{P50: ms(s.P50), P90: ms(s.P90), P99: ms(s.P99), P999: ms(s.P999), Max: ms(s.Max), Mean: ms(s.Mean)}
}

func ptr[T any](v T) *T { return &v }

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// buildReport aggregates the runs.
func buildReport(o Options, e *env, runs []*run, rss map[string]float64) *Report {
	rep := &Report{
		Schema:  SchemaVersion,
		Command: o.Command,
		Settings: Settings{
			Short: o.Short, Mode: o.Mode, Protocol: string(o.Protocol), Rounds: o.Rounds,
			DurationS: o.Duration.Seconds(), WarmupS: o.Warmup.Seconds(), Conns: o.Conns,
			Rates: o.Rates, TableRate: o.TableRate, MaxInFlight: o.MaxInFlight, TimeoutS: o.Timeout.Seconds(),
			LiveDelayMs: ms(o.LiveDelay), ShadowDelay: ms(o.ShadowDelay), ErrorRate: o.ErrorRate, GOMAXPROCS: o.GOMAXPROCS,
		},
	}
	inner := map[string]bool{}
	for _, t := range e.targets {
		inner[t.info.Name] = t.inner
	}
	for _, name := range o.Scenarios {
		info, _ := scenarioInfo(name)
		sr := ScenarioResult{ScenarioInfo: info}
		if why, ok := e.skipped[name]; ok {
			sr.Skipped = why
			rep.Scenarios = append(rep.Scenarios, sr)
			continue
		}
		mine := slices.DeleteFunc(slices.Clone(runs), func(x *run) bool { return x.scenario != name })
		closed := slices.DeleteFunc(slices.Clone(mine), func(x *run) bool { return x.mode != loadgen.Closed })
		if len(closed) > 0 {
			sr.Max = ptr(aggregate(closed))
		}
		for _, rate := range o.Rates {
			at := slices.DeleteFunc(slices.Clone(mine), func(x *run) bool { return x.mode != loadgen.Open || x.rate != rate })
			if len(at) == 0 {
				sr.Sweep = append(sr.Sweep, Point{Mode: string(loadgen.Open), Offered: rate, Skipped: "above its maximum throughput"})
				continue
			}
			sr.Sweep = append(sr.Sweep, aggregate(at))
		}
		for _, x := range mine {
			sr.Failed += x.res.Failed()
			for k, v := range x.taps {
				if sr.Taps == nil {
					sr.Taps = map[string]float64{}
				}
				sr.Taps[k] += v
			}
			rec := RunRecord{
				Scenario: name, Mode: string(x.mode), Offered: x.rate, Round: x.round,
				Achieved: math.Round(x.res.Achieved()), P50: ms(x.res.Latency.Quantile(50)), P99: ms(x.res.Latency.Quantile(99)),
				Failed: x.res.Failed(),
			}
			if x.mode == loadgen.Open {
				rec.InFlight, rec.SendLagP99 = x.res.Workers, ms(x.res.SendLag.Quantile(99))
			}
			if n := x.res.Sent; !math.IsNaN(x.proxyCPU) && n > 0 {
				rec.CPUPer1k = ptr(round4(x.proxyCPU / float64(n) * 1000))
			}
			rep.Runs = append(rep.Runs, rec)
		}
		if v, ok := rss[name]; ok {
			sr.PeakRSSMiB = ptr(math.Round(v*10) / 10)
		}
		if inner[name] {
			sr.PeakRSSMiB = nil
		}
		rep.Scenarios = append(rep.Scenarios, sr)
	}
	rep.addDerived(inner)
	rep.Ratios = ratios(rep)
	rep.Notes = append(rep.Notes, notes(o, e, rep)...)
	return rep
}

// aggregate merges the rounds of one scenario at one load level.
func aggregate(xs []*run) Point {
	x0 := xs[0]
	p := Point{Mode: string(x0.mode), Offered: x0.rate, Conns: x0.res.Conns}
	lat, naive, lag := loadgen.NewHistogram(), loadgen.NewHistogram(), loadgen.NewHistogram()
	var responses int64
	var elapsed, proxyCPU, selfCPU float64
	for _, x := range xs {
		lat.Merge(x.res.Latency)
		naive.Merge(x.res.Uncorrected)
		lag.Merge(x.res.SendLag)
		p.Rounds = append(p.Rounds, math.Round(x.res.Achieved()))
		p.Requests += x.res.Sent
		p.Failed += x.res.Failed()
		responses += x.res.Responses
		elapsed += x.res.Elapsed.Seconds()
		proxyCPU += x.proxyCPU
		selfCPU += x.selfCPU
	}
	p.Latency = latencyOf(lat)
	if x0.mode == loadgen.Closed {
		p.Achieved = median(p.Rounds)
	} else {
		if elapsed > 0 {
			p.Achieved = math.Round(float64(responses) / elapsed)
		}
		p.Uncorrected = ptr(latencyOf(naive))
		p.SendLag = ptr(latencyOf(lag))
		for _, x := range xs {
			p.PeakInFlight = max(p.PeakInFlight, x.res.Workers)
		}
		p.Saturated = p.Achieved < 0.95*p.Offered
	}
	if p.Requests > 0 {
		if !math.IsNaN(proxyCPU) {
			p.CPUPer1k = ptr(round4(proxyCPU / float64(p.Requests) * 1000))
		}
		p.HarnessCPUPer1k = round4(selfCPU / float64(p.Requests) * 1000)
	}
	return p
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// addDerived fills the added latency over direct and, for in-process
// driftcar, the CPU estimate: its harness CPU per request minus direct's
// at the same load level.
func (rep *Report) addDerived(inner map[string]bool) {
	direct := rep.Scenario(Direct)
	for i := range rep.Scenarios {
		s := &rep.Scenarios[i]
		if s.Skipped != "" {
			continue
		}
		for j := range s.Sweep {
			p := &s.Sweep[j]
			d := direct.at(p.Offered)
			if p.Skipped != "" || d == nil || d.Skipped != "" || d.Saturated || p.Saturated {
				continue
			}
			p.AddedP50 = ptr(round4(p.Latency.P50 - d.Latency.P50))
			p.AddedP99 = ptr(round4(p.Latency.P99 - d.Latency.P99))
		}
		if !inner[s.Name] || direct == nil {
			continue
		}
		if s.Max != nil && direct.Max != nil {
			s.Max.CPUPer1k, s.Max.CPUEstimated = ptr(round4(max(s.Max.HarnessCPUPer1k-direct.Max.HarnessCPUPer1k, 0))), true
		}
		for j := range s.Sweep {
			p := &s.Sweep[j]
			if d := direct.at(p.Offered); p.Skipped == "" && d != nil && d.Skipped == "" {
				p.CPUPer1k, p.CPUEstimated = ptr(round4(max(p.HarnessCPUPer1k-d.HarnessCPUPer1k, 0))), true
			}
		}
	}
}

// Scenario returns the named scenario's result, or nil.
func (rep *Report) Scenario(name string) *ScenarioResult {
	for i := range rep.Scenarios {
		if rep.Scenarios[i].Name == name {
			return &rep.Scenarios[i]
		}
	}
	return nil
}

// at returns the open-loop point at rate, or nil.
func (s *ScenarioResult) at(rate float64) *Point {
	if s == nil {
		return nil
	}
	for i := range s.Sweep {
		if s.Sweep[i].Offered == rate {
			return &s.Sweep[i]
		}
	}
	return nil
}

// ran reports whether the scenario ran.
func (s *ScenarioResult) ran() bool { return s != nil && s.Skipped == "" }

// ratios are the comparisons that have targets, then some for
// information.
func ratios(rep *Report) []Ratio {
	rate := rep.Settings.TableRate
	maxOf := func(name string) (float64, string) {
		s := rep.Scenario(name)
		switch {
		case s == nil:
			return 0, name + " not run"
		case !s.ran():
			return 0, name + " skipped"
		case s.Max == nil || s.Max.Achieved <= 0:
			return 0, name + " has no throughput"
		}
		return s.Max.Achieved, ""
	}
	throughput := func(a, b string, op string, target float64) Ratio {
		r := Ratio{Name: fmt.Sprintf("%s / %s, max throughput", a, b), Op: op, Target: target}
		va, ma := maxOf(a)
		vb, mb := maxOf(b)
		if r.Missing = cmp.Or(ma, mb); r.Missing == "" {
			r.Value = ptr(round4(va / vb))
			r.Detail = fmt.Sprintf("%.0f vs %.0f req/s", va, vb)
		}
		return r.judge()
	}
	atRate := func(name string) (*Point, string) {
		s := rep.Scenario(name)
		switch {
		case s == nil:
			return nil, name + " not run"
		case !s.ran():
			return nil, name + " skipped"
		}
		p := s.at(rate)
		switch {
		case p == nil || p.Skipped != "":
			return nil, fmt.Sprintf("%s not measured at %g/s", name, rate)
		case p.Saturated:
			return nil, fmt.Sprintf("%s saturated at %g/s", name, rate)
		}
		return p, ""
	}
	var out []Ratio
	out = append(out, throughput(Driftcar, Nginx, ">=", 0.9))

	// "Added p99 no worse than nginx's": direct's p99 is on both sides, so
	// it is met exactly when driftcar's p99 is at most nginx's. The value
	// is the ratio of the added latencies when both are positive.
	added := Ratio{Name: fmt.Sprintf("driftcar / nginx, added p99 at %g/s", rate), Op: "<=", Target: 1}
	pd, md := atRate(Driftcar)
	pn, mn := atRate(Nginx)
	if added.Missing = cmp.Or(md, mn); added.Missing == "" {
		added.Met = ptr(pd.Latency.P99 <= pn.Latency.P99)
		added.Detail = fmt.Sprintf("p99 %.3f vs %.3f ms", pd.Latency.P99, pn.Latency.P99)
		if pd.AddedP99 != nil && pn.AddedP99 != nil {
			a, b := *pd.AddedP99, *pn.AddedP99
			added.Detail = fmt.Sprintf("%+.3f vs %+.3f ms", a, b)
			if b > 0 {
				added.Value = ptr(round4(max(a, 0) / b))
			}
		}
	}
	out = append(out, added,
		throughput(DriftcarShadow, NginxMirror, ">=", 2),
		throughput(DriftcarSlowShadow, Driftcar, ">=", 0.9),
		throughput(DriftcarAll, Driftcar, ">=", 0.75),
		throughput(DriftcarLogFile, Driftcar, ">=", 0.9),
		throughput(DriftcarLogDeadCE, Driftcar, ">=", 0.95),
		throughput(DriftcarLogDeadKfk, Driftcar, ">=", 0.95),
		// "Bare throughput with labels on stays within 3%".
		throughput(DriftcarTruth, Driftcar, ">=", 0.97))
	// "The same p99 as logging off", within 10% for noise.
	for _, dead := range []string{DriftcarLogDeadCE, DriftcarLogDeadKfk} {
		r := Ratio{Name: fmt.Sprintf("%s / driftcar, p99 at %g/s", dead, rate), Op: "<=", Target: 1.1}
		pl, ml := atRate(dead)
		if r.Missing = cmp.Or(ml, md); r.Missing == "" {
			r.Value = ptr(round4(pl.Latency.P99 / pd.Latency.P99))
			r.Detail = fmt.Sprintf("p99 %.3f vs %.3f ms", pl.Latency.P99, pd.Latency.P99)
		}
		out = append(out, r.judge())
	}

	cpu := Ratio{Name: fmt.Sprintf("driftcar / nginx, CPU per request at %g/s", rate), Op: "<=", Target: 1}
	if cpu.Missing = cmp.Or(md, mn); cpu.Missing == "" {
		switch {
		case pd.CPUPer1k == nil || pn.CPUPer1k == nil:
			cpu.Missing = "CPU not measured"
		case *pn.CPUPer1k <= 0:
			cpu.Missing = "nginx CPU below the clock-tick resolution"
		default:
			cpu.Value = ptr(round4(*pd.CPUPer1k / *pn.CPUPer1k))
			cpu.Detail = fmt.Sprintf("%.4f vs %.4f s/1k", *pd.CPUPer1k, *pn.CPUPer1k)
			if pd.CPUEstimated {
				cpu.Detail += ", driftcar estimated in-process"
			}
		}
	}
	cpuMax := Ratio{Name: "driftcar / nginx, CPU per request at max throughput"}
	dm, nm := rep.Scenario(Driftcar), rep.Scenario(Nginx)
	switch {
	case !dm.ran() || !nm.ran() || dm.Max == nil || nm.Max == nil:
		cpuMax.Missing = "driftcar or nginx not run"
	case dm.Max.CPUPer1k == nil || nm.Max.CPUPer1k == nil || *nm.Max.CPUPer1k <= 0:
		cpuMax.Missing = "CPU not measured"
	default:
		cpuMax.Value = ptr(round4(*dm.Max.CPUPer1k / *nm.Max.CPUPer1k))
		cpuMax.Detail = fmt.Sprintf("%.4f vs %.4f s/1k", *dm.Max.CPUPer1k, *nm.Max.CPUPer1k)
	}
	out = append(out, cpu.judge(), cpuMax,
		throughput(DriftcarSample, Driftcar, "", 0),
		throughput(Driftcar, Direct, "", 0),
		throughput(NginxSlowMirror, Nginx, "", 0),
		throughput(HTTPUtil, Nginx, "", 0))
	return out
}

// judge sets Met from Value, Op and Target.
func (r Ratio) judge() Ratio {
	if r.Value == nil || r.Op == "" {
		return r
	}
	v := *r.Value
	if r.Op == ">=" {
		r.Met = ptr(v >= r.Target)
	} else {
		r.Met = ptr(v <= r.Target)
	}
	return r
}

// Verdict is "met", "missed by N%", "n/a (why)" or "" for information.
func (r Ratio) Verdict() string {
	switch {
	case r.Missing != "":
		return "n/a (" + r.Missing + ")"
	case r.Met == nil:
		return ""
	case *r.Met:
		return "met"
	case r.Value == nil:
		return "missed"
	case r.Op == ">=":
		return fmt.Sprintf("missed by %.0f%%", (1-*r.Value/r.Target)*100)
	}
	return fmt.Sprintf("missed by %.0f%%", (*r.Value/r.Target-1)*100)
}

// notes explain skips, saturation and caveats.
func notes(o Options, e *env, rep *Report) []string {
	var out []string
	for _, s := range rep.Scenarios {
		if s.Skipped != "" {
			out = append(out, fmt.Sprintf("%s skipped: %s", s.Name, s.Skipped))
		}
	}
	out = append(out, e.notes...)
	if o.Mode == ModeInProcess {
		out = append(out, "driftcar ran inside the harness process (--mode inprocess): its CPU per request is estimated as the "+
			"harness's CPU per request minus that of the direct scenario at the same load, and its peak RSS is not "+
			"measured; use --mode child (the default) for the targets.")
	}
	for _, s := range rep.Scenarios {
		var sat []string
		for _, p := range s.Sweep {
			if p.Saturated {
				sat = append(sat, fmt.Sprintf("%g/s (answered %.0f/s)", p.Offered, p.Achieved))
			}
		}
		if len(sat) > 0 {
			out = append(out, fmt.Sprintf("%s saturated at %s.", s.Name, strings.Join(sat, ", ")))
		}
	}
	return out
}

// machine describes this machine.
func machine(nginx string) Machine {
	m := Machine{Host: hostname(), OS: runtime.GOOS + "/" + runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version(), Nginx: nginx}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				m.MemoryGiB = math.Round(kb/(1<<20)*10) / 10
			}
		}
	}
	return m
}

// hostname is the short host name, safe in a file name.
func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "host"
	}
	h, _, _ = strings.Cut(h, ".")
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, h)
}

// BaseName is the results files' name without extension: <date>-<host>,
// and -short for the quick run of make bench, so that it never overwrites
// a full run's results.
func (rep *Report) BaseName() string {
	name := rep.Started.Format("2006-01-02") + "-" + hostnameOf(rep.Machine.Host)
	if rep.Settings.Short {
		name += "-short"
	}
	return name
}

func hostnameOf(h string) string {
	if h == "" {
		return "host"
	}
	return h
}

// JSON is the report as indented JSON.
func (rep *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ReadReport parses a results JSON file.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rep := new(Report)
	if err := json.Unmarshal(b, rep); err != nil {
		return nil, fmt.Errorf("cannot parse %s: %w", path, err)
	}
	if rep.Schema != SchemaVersion {
		return nil, fmt.Errorf("%s: schema %d, want %d", path, rep.Schema, SchemaVersion)
	}
	return rep, nil
}
