package grpcbench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/driftcar/driftcar/bench/loadgen"
)

// Report is one run's results.
type Report struct {
	Command  string    `json:"command"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Machine  Machine   `json:"machine"`
	Settings Settings  `json:"settings"`
	Skipped  []Skip    `json:"skipped,omitempty"`
	Cells    []Cell    `json:"cells"`
	Loads    []Load    `json:"equal_load,omitempty"`
	Targets  []Verdict `json:"targets"`
	Notes    []string  `json:"notes,omitempty"`
}

// Machine is where the run ran.
type Machine struct {
	Host   string `json:"host"`
	CPUs   int    `json:"cpus"`
	OS     string `json:"os"`
	Go     string `json:"go"`
	Commit string `json:"commit,omitempty"`
	Nginx  string `json:"nginx,omitempty"`
}

// Settings are the run's load.
type Settings struct {
	Short       bool   `json:"short"`
	Conns       []int  `json:"in_flight"`
	ClientConns int    `json:"client_connections"`
	Duration    string `json:"duration"`
	Rounds      int    `json:"rounds"`
	Request     int    `json:"request_bytes"`
	Response    int    `json:"response_bytes"`
}

// Skip is a path that did not run.
type Skip struct {
	Path string `json:"path"`
	Why  string `json:"why"`
}

// Cell is one path at one level.
type Cell struct {
	Path       string  `json:"path"`
	InFlight   int     `json:"in_flight"`
	OK         int64   `json:"ok"`
	Failed     int64   `json:"failed"`
	Throughput float64 `json:"calls_per_second"`
	P50        float64 `json:"p50_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	// CPUPerCall is driftcar's process CPU time per answered call, in µs;
	// 0 for the other paths or where /proc cannot tell.
	CPUPerCall float64 `json:"cpu_us_per_call,omitempty"`
	// VsNginx are driftcar's throughput and p99 over nginx's at the same
	// level; absent for other paths or without nginx.
	VsNginx *Ratios `json:"vs_nginx,omitempty"`
}

// Load is driftcar with or without the shadow at a fixed rate, derived
// from one closed-loop level, for the shadow's cost at equal load.
type Load struct {
	Path       string  `json:"path"`
	InFlight   int     `json:"from_in_flight"`
	Offered    float64 `json:"offered_per_second"`
	Achieved   float64 `json:"calls_per_second"`
	Failed     int64   `json:"failed"`
	CPUPerCall float64 `json:"cpu_us_per_call"`
	// Rounds are the CPU per call of each round, in µs, in order.
	Rounds []float64 `json:"cpu_us_per_call_by_round,omitempty"`
}

// Ratios compare driftcar with nginx.
type Ratios struct {
	Throughput float64 `json:"throughput"`
	P99        float64 `json:"p99"`
}

// Verdict is one target checked.
type Verdict struct {
	Target string  `json:"target"`
	Got    float64 `json:"got"`
	Limit  float64 `json:"limit"`
	Pass   bool    `json:"pass"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func newReport(o Options) *Report {
	host, _ := os.Hostname()
	return &Report{
		Command: o.Command,
		Started: time.Now().UTC(),
		Machine: Machine{Host: host, CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(), Commit: gitCommit()},
		Settings: Settings{Short: o.Short, Conns: o.Conns, ClientConns: clientConns, Duration: o.Duration.String(), Rounds: o.Rounds,
			Request: len(modelInferRequest()), Response: len(modelInferResponse())},
		Notes: []string{
			"driftcar+shadow mirrors every call to a second stub that answers after 200 ms; copies beyond its queue are dropped and counted, never waited for.",
			"The stub, the client and both proxies share the machine's cores; nginx runs one worker, driftcar GOMAXPROCS = all cores.",
		},
	}
}

func newCell(path string, n int, r *loadgen.Result) Cell {
	c := Cell{Path: path, InFlight: n, OK: r.OK, Failed: r.Failed()}
	if r.Elapsed > 0 {
		c.Throughput = float64(r.OK) / r.Elapsed.Seconds()
	}
	c.P50, c.P99, c.Max = ms(r.Latency.Quantile(50)), ms(r.Latency.Quantile(99)), ms(r.Latency.Max())
	return c
}

// derive fills the ratios to nginx and the targets, at every level.
func (rep *Report) derive() {
	find := func(path string, n int) *Cell {
		for i := range rep.Cells {
			if rep.Cells[i].Path == path && rep.Cells[i].InFlight == n {
				return &rep.Cells[i]
			}
		}
		return nil
	}
	for i := range rep.Cells {
		s := &rep.Cells[i]
		d := find(Driftcar, s.InFlight)
		if s.Path != DriftcarShadow || d == nil || d.Throughput == 0 {
			continue
		}
		rep.Notes = append(rep.Notes, fmt.Sprintf("driftcar+shadow / driftcar raw throughput at %d in flight: %.2f× (the 200 ms stub and the client share the machine's cores)", s.InFlight, s.Throughput/d.Throughput))
		if s.CPUPerCall > 0 && d.CPUPerCall > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("driftcar+shadow / driftcar throughput per CPU at %d in flight, closed loop: %.2f× (at %.0f vs %.0f calls/s; CPU per call falls as load rises, so this also counts the lower load)",
				s.InFlight, d.CPUPerCall/s.CPUPerCall, s.Throughput, d.Throughput))
		}
	}
	// On a machine of its own, driftcar's throughput is its cores over
	// its CPU per call; here the shadow's stub and the client share the
	// cores, so the shadow's cost is driftcar's CPU per call at equal load.
	for _, s := range rep.Loads {
		if s.Path != DriftcarShadow {
			continue
		}
		for _, d := range rep.Loads {
			if d.Path != Driftcar || d.InFlight != s.InFlight || d.CPUPerCall == 0 || s.CPUPerCall == 0 {
				continue
			}
			r, each := pairedRatio(d, s)
			rep.Targets = append(rep.Targets, Verdict{Target: fmt.Sprintf("driftcar+shadow throughput per CPU / driftcar at equal load (%.0f calls/s, from %d in flight; median of the rounds)", s.Offered, s.InFlight), Got: r, Limit: 0.95, Pass: r >= 0.95})
			rep.Notes = append(rep.Notes, fmt.Sprintf("equal load from %d in flight, driftcar / driftcar+shadow CPU per call by round: %s; over all rounds %.2f×", s.InFlight, each, d.CPUPerCall/s.CPUPerCall))
			for _, l := range []Load{d, s} {
				if l.Achieved < 0.95*l.Offered {
					rep.Notes = append(rep.Notes, fmt.Sprintf("%s answered %.0f of %.0f calls/s offered: saturated, so its CPU per call is not at equal load", l.Path, l.Achieved, l.Offered))
				}
			}
		}
	}
	for i := range rep.Cells {
		d := &rep.Cells[i]
		if d.Path != Driftcar {
			continue
		}
		ng := find(Nginx, d.InFlight)
		if ng == nil || ng.Throughput == 0 || ng.P99 == 0 {
			continue
		}
		d.VsNginx = &Ratios{Throughput: d.Throughput / ng.Throughput, P99: d.P99 / ng.P99}
		rep.Targets = append(rep.Targets,
			Verdict{Target: fmt.Sprintf("driftcar throughput / nginx at %d in flight", d.InFlight), Got: d.VsNginx.Throughput, Limit: 1, Pass: d.VsNginx.Throughput >= 1},
			Verdict{Target: fmt.Sprintf("driftcar p99 / nginx at %d in flight", d.InFlight), Got: d.VsNginx.P99, Limit: 1, Pass: d.VsNginx.P99 <= 1})
	}
}

// pairedRatio is the median over rounds of d's CPU per call over s's,
// each round's two measurements taken back to back, so that the machine's
// drift between rounds (other tenants) cancels; with no rounds, the ratio
// of the totals. each lists the rounds' ratios.
func pairedRatio(d, s Load) (median float64, each string) {
	n := min(len(d.Rounds), len(s.Rounds))
	if n == 0 {
		return d.CPUPerCall / s.CPUPerCall, "–"
	}
	rs := make([]float64, n)
	parts := make([]string, n)
	for i := range n {
		rs[i] = d.Rounds[i] / s.Rounds[i]
		parts[i] = fmt.Sprintf("%.2f", rs[i])
	}
	slices.Sort(rs)
	median = rs[n/2]
	if n%2 == 0 {
		median = (rs[n/2-1] + rs[n/2]) / 2
	}
	return median, strings.Join(parts, ", ")
}

// Missed are the targets not met.
func (rep *Report) Missed() []Verdict {
	var out []Verdict
	for _, v := range rep.Targets {
		if !v.Pass {
			out = append(out, v)
		}
	}
	return out
}

// BaseName is <date>-<host>-grpc, with -short for the quick run.
func (rep *Report) BaseName() string {
	host := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, rep.Machine.Host)
	if host == "" {
		host = "host"
	}
	name := rep.Started.Format("2006-01-02") + "-" + host + "-grpc"
	if rep.Settings.Short {
		name += "-short"
	}
	return name
}

// Text is the plain-text summary printed after a run.
func (rep *Report) Text() string {
	if t := rep.LoadTable(); t != "" {
		return rep.Table() + "\nequal load, open loop:\n" + t + rep.verdicts()
	}
	return rep.Table() + rep.verdicts()
}

// Table is the results table in Markdown.
func (rep *Report) Table() string {
	var b strings.Builder
	b.WriteString("| path | in flight | ok | failed | calls/s | p50 | p99 | max | CPU/call | throughput vs nginx | p99 vs nginx |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, c := range rep.Cells {
		ratios := "| – | –"
		if c.VsNginx != nil {
			ratios = fmt.Sprintf("| %.2f× | %.2f×", c.VsNginx.Throughput, c.VsNginx.P99)
		}
		cpu := "–"
		if c.CPUPerCall > 0 {
			cpu = fmt.Sprintf("%.1f µs", c.CPUPerCall)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %.0f | %.3f ms | %.3f ms | %.2f ms | %s %s |\n",
			c.Path, c.InFlight, c.OK, c.Failed, c.Throughput, c.P50, c.P99, c.Max, cpu, ratios)
	}
	return b.String()
}

// LoadTable is the equal-load table in Markdown, "" without one.
func (rep *Report) LoadTable() string {
	if len(rep.Loads) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("| path | from in flight | offered calls/s | answered calls/s | failed | CPU/call |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|\n")
	for _, l := range rep.Loads {
		fmt.Fprintf(&b, "| %s | %d | %.0f | %.0f | %d | %.1f µs |\n", l.Path, l.InFlight, l.Offered, l.Achieved, l.Failed, l.CPUPerCall)
	}
	return b.String()
}

func (rep *Report) verdicts() string {
	var b strings.Builder
	if len(rep.Targets) > 0 {
		b.WriteString("\ntargets:\n")
	}
	for _, v := range rep.Targets {
		mark := "PASS"
		if !v.Pass {
			mark = "MISS"
		}
		fmt.Fprintf(&b, "  %s  %s: %.2f (limit %.2f)\n", mark, v.Target, v.Got, v.Limit)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(&b, "skipped %s: %s\n", s.Path, s.Why)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}

// Markdown is the results file.
func (rep *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# gRPC ModelInfer: driftcar vs direct and nginx grpc_pass\n\n")
	fmt.Fprintf(&b, "`%s` on %s (%d CPUs, %s, %s", rep.Command, rep.Machine.Host, rep.Machine.CPUs, rep.Machine.OS, rep.Machine.Go)
	if rep.Machine.Nginx != "" {
		fmt.Fprintf(&b, ", %s", rep.Machine.Nginx)
	}
	if rep.Machine.Commit != "" {
		fmt.Fprintf(&b, ", commit %s", rep.Machine.Commit)
	}
	fmt.Fprintf(&b, "), %s.\n\n", rep.Started.Format(time.RFC3339))
	fmt.Fprintf(&b, "Closed loop of unary `ModelInfer` calls (request %d B, response %d B) over %d client connections, %s per measurement, %d rounds in rotated path order, merged.\n\n",
		rep.Settings.Request, rep.Settings.Response, rep.Settings.ClientConns, rep.Settings.Duration, rep.Settings.Rounds)
	b.WriteString(rep.Table())
	b.WriteString("\n")
	if t := rep.LoadTable(); t != "" {
		fmt.Fprintf(&b, "Equal load: driftcar with and without the shadow offered the same calls a second in an open loop, %.0f%% of the slower one's closed-loop throughput at each level, for the shadow's CPU cost alone; the target is the median of the rounds' ratios, each round's two measurements back to back.\n\n", equalShare*100)
		b.WriteString(t)
		b.WriteString("\n")
	}
	b.WriteString(strings.ReplaceAll(rep.verdicts(), "\n  ", "\n- "))
	return b.String()
}

// JSON is the report as indented JSON.
func (rep *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("cannot encode the report: %w", err)
	}
	return append(b, '\n'), nil
}

// Write writes <BaseName>.md and .json into dir.
func (rep *Report) Write(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	base := filepath.Join(dir, rep.BaseName())
	js, err := rep.JSON()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(base+".json", js, 0o644); err != nil {
		return nil, fmt.Errorf("cannot write results: %w", err)
	}
	if err := os.WriteFile(base+".md", []byte(rep.Markdown()), 0o644); err != nil {
		return nil, fmt.Errorf("cannot write results: %w", err)
	}
	return []string{base + ".md", base + ".json"}, nil
}
