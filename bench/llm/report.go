package llm

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/driftcar/driftcar/bench/loadgen"
)

// Target figures from the issue: at TargetStreams concurrent streams,
// TTFT and each chunk through driftcar within TargetAdded (p99) of
// direct, and no more added than nginx adds (within NginxSlack, the
// noise of one run).
const (
	TargetStreams = 50
	TargetAdded   = time.Millisecond
	NginxSlack    = 100 * time.Microsecond
)

// Report is one run's results.
type Report struct {
	Command  string     `json:"command"`
	Started  time.Time  `json:"started"`
	Finished time.Time  `json:"finished"`
	Machine  Machine    `json:"machine"`
	Settings Settings   `json:"settings"`
	Paths    []PathInfo `json:"paths"`
	Skipped  []Skip     `json:"skipped,omitempty"`
	Cells    []Cell     `json:"cells"`
	Targets  []Verdict  `json:"targets"`
	Big      []Big      `json:"big,omitempty"`
	Notes    []string   `json:"notes,omitempty"`
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
	Short    bool   `json:"short"`
	Tokens   int    `json:"tokens"`
	Interval string `json:"interval"`
	Streams  []int  `json:"streams"`
	Duration string `json:"duration"`
	Rounds   int    `json:"rounds"`
	Mode     string `json:"mode"`
}

// Skip is a path that did not run.
type Skip struct {
	Path string `json:"path"`
	Why  string `json:"why"`
}

// Dist summarizes a distribution, in milliseconds.
type Dist struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

func dist(h *loadgen.Histogram) Dist {
	return Dist{Count: h.Count(), P50: ms(h.Quantile(50)), P99: ms(h.Quantile(99)), Max: ms(h.Max()), Mean: ms(h.Mean())}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Cell is one path at one concurrency level.
type Cell struct {
	Path    string `json:"path"`
	Streams int    `json:"streams"`
	// Completed and Failed count streams; TokensPerSecond is over all.
	Completed       int64   `json:"completed"`
	Failed          int64   `json:"failed"`
	FirstError      string  `json:"first_error,omitempty"`
	TokensPerSecond float64 `json:"tokens_per_second"`
	// TTFT is the time to the first content chunk; InterToken each gap
	// between two chunks; ChunkLag each chunk's arrival after it was due
	// on the stub's schedule; Total each stream's duration.
	TTFT       Dist `json:"ttft"`
	InterToken Dist `json:"inter_token"`
	ChunkLag   Dist `json:"chunk_lag"`
	Total      Dist `json:"total"`
	// Added are the p99s minus direct's at the same level (ms); absent
	// for direct.
	Added *Added `json:"added_vs_direct,omitempty"`
	// RoundTTFTP99 and RoundLagP99 are each round's own p99s (ms): their
	// spread on the direct path is the run's noise floor.
	RoundTTFTP99 []float64 `json:"round_ttft_p99_ms,omitempty"`
	RoundLagP99  []float64 `json:"round_chunk_lag_p99_ms,omitempty"`
}

// Added is a path's p99 minus direct's, in milliseconds.
type Added struct {
	TTFT       float64 `json:"ttft_p99_ms"`
	InterToken float64 `json:"inter_token_p99_ms"`
	ChunkLag   float64 `json:"chunk_lag_p99_ms"`
}

// Verdict is one target checked.
type Verdict struct {
	Target string  `json:"target"`
	Got    float64 `json:"got"`
	Limit  float64 `json:"limit"`
	Unit   string  `json:"unit"`
	Pass   bool    `json:"pass"`
}

func newReport(o Options) *Report {
	host, _ := os.Hostname()
	return &Report{
		Command: o.Command,
		Started: time.Now().UTC(),
		Machine: Machine{Host: host, CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(), Commit: gitCommit()},
		Settings: Settings{
			Short: o.Short, Tokens: o.Tokens, Interval: o.Interval.String(), Streams: o.Streams,
			Duration: o.Duration.String(), Rounds: o.Rounds, Mode: o.Mode,
		},
		Paths: selectedPaths(o.Paths),
	}
}

func selectedPaths(names []string) []PathInfo {
	var out []PathInfo
	for _, p := range paths {
		for _, n := range names {
			if p.Name == n {
				out = append(out, p)
			}
		}
	}
	return out
}

func newCell(path string, streams int, r *Result, rounds []*Result) Cell {
	c := Cell{
		Path: path, Streams: streams, Completed: r.Streams, Failed: r.Failed, FirstError: r.FirstError,
		TTFT: dist(r.TTFT), InterToken: dist(r.Gap), ChunkLag: dist(r.Lag), Total: dist(r.Total),
	}
	for _, rr := range rounds {
		c.RoundTTFTP99 = append(c.RoundTTFTP99, dist(rr.TTFT).P99)
		c.RoundLagP99 = append(c.RoundLagP99, dist(rr.Lag).P99)
	}
	if r.Elapsed > 0 {
		c.TokensPerSecond = float64(r.Tokens) / r.Elapsed.Seconds()
	}
	return c
}

// Cell returns the cell of path at streams, or nil.
func (rep *Report) Cell(path string, streams int) *Cell {
	for i := range rep.Cells {
		if c := &rep.Cells[i]; c.Path == path && c.Streams == streams {
			return c
		}
	}
	return nil
}

// derive fills the added latencies and the target verdicts.
func (rep *Report) derive() {
	for i := range rep.Cells {
		c := &rep.Cells[i]
		d := rep.Cell(Direct, c.Streams)
		if c.Path == Direct || d == nil || d.Completed == 0 || c.Completed == 0 {
			continue
		}
		c.Added = &Added{
			TTFT:       c.TTFT.P99 - d.TTFT.P99,
			InterToken: c.InterToken.P99 - d.InterToken.P99,
			ChunkLag:   c.ChunkLag.P99 - d.ChunkLag.P99,
		}
	}
	limit := ms(TargetAdded)
	rep.Targets = nil
	ng := rep.Cell(Nginx, TargetStreams)
	for _, p := range []string{Driftcar, DriftcarTaps} {
		c := rep.Cell(p, TargetStreams)
		if c == nil || c.Added == nil {
			continue
		}
		at := fmt.Sprintf("%s at %d streams: ", p, TargetStreams)
		add := func(target string, got, limit float64) {
			rep.Targets = append(rep.Targets, Verdict{Target: at + target, Got: got, Limit: limit, Unit: "ms", Pass: got <= limit && c.Failed == 0})
		}
		add("TTFT p99 − direct ≤ 1 ms", c.Added.TTFT, limit)
		add("chunk lag p99 − direct ≤ 1 ms", c.Added.ChunkLag, limit)
		add("|inter-token p99 − direct| ≤ 1 ms", math.Abs(c.Added.InterToken), limit)
		if ng != nil && ng.Added != nil {
			slack := ms(NginxSlack)
			add("TTFT p99 added ≤ nginx's", c.Added.TTFT, ng.Added.TTFT+slack)
			add("chunk lag p99 added ≤ nginx's", c.Added.ChunkLag, ng.Added.ChunkLag+slack)
		}
	}
	for _, b := range rep.Big {
		if b.Path != Driftcar && b.Path != DriftcarTaps || b.RSSBefore == 0 {
			continue
		}
		rep.Targets = append(rep.Targets, Verdict{
			Target: fmt.Sprintf("%s: RSS growth over one %d MiB response < %d MiB", b.Path, b.Bytes>>20, TargetBigGrowth>>20),
			Got:    b.RSSPeak - b.RSSBefore, Limit: TargetBigGrowth >> 20, Unit: "MiB",
			Pass: b.Error == "" && b.RSSPeak-b.RSSBefore < TargetBigGrowth>>20,
		})
	}
}

// bigLines describes the large responses.
func (rep *Report) bigLines() string {
	var b strings.Builder
	for _, r := range rep.Big {
		fmt.Fprintf(&b, "- %s: %d MiB", r.Path, r.Bytes>>20)
		if r.Error != "" {
			fmt.Fprintf(&b, " failed: %s\n", r.Error)
			continue
		}
		fmt.Fprintf(&b, " at %.0f MiB/s", r.MiBps)
		if r.RSSBefore > 0 {
			fmt.Fprintf(&b, "; RSS %.1f MiB before, %.1f MiB at most during (+%.1f MiB)", r.RSSBefore, r.RSSPeak, r.RSSPeak-r.RSSBefore)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Missed lists the targets this run missed.
func (rep *Report) Missed() []string {
	var out []string
	for _, v := range rep.Targets {
		if !v.Pass {
			out = append(out, fmt.Sprintf("%s: %.3f %s (limit %.3f %s)", v.Target, v.Got, v.Unit, v.Limit, v.Unit))
		}
	}
	return out
}

// BaseName is the results files' name: <date>-<host>-llm, with -short
// for the quick run so that it never overwrites a full run's.
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
	name := rep.Started.Format("2006-01-02") + "-" + host + "-llm"
	if rep.Settings.Short {
		name += "-short"
	}
	return name
}

// JSON is the report as indented JSON.
func (rep *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("cannot encode the report: %w", err)
	}
	return append(b, '\n'), nil
}

// Write writes <BaseName>.md and .json into dir and returns their paths.
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
		return nil, err
	}
	if err := os.WriteFile(base+".md", []byte(rep.Markdown()), 0o644); err != nil {
		return nil, err
	}
	return []string{base + ".md", base + ".json"}, nil
}

// Table is the results table in Markdown.
func (rep *Report) Table() string {
	var b strings.Builder
	b.WriteString("| path | streams | done | failed | TTFT p50 | TTFT p99 | inter-token p50 | inter-token p99 | chunk lag p99 | stream p99 | tokens/s | +TTFT p99 | +inter-token p99 | +chunk lag p99 |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, c := range rep.Cells {
		added := "| – | – | –"
		if c.Added != nil {
			added = fmt.Sprintf("| %s | %s | %s", signed(c.Added.TTFT), signed(c.Added.InterToken), signed(c.Added.ChunkLag))
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %.0f %s |\n",
			c.Path, c.Streams, c.Completed, c.Failed, msStr(c.TTFT.P50), msStr(c.TTFT.P99),
			msStr(c.InterToken.P50), msStr(c.InterToken.P99), msStr(c.ChunkLag.P99), msStr(c.Total.P99),
			c.TokensPerSecond, added)
	}
	return b.String()
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = v[0], v[0]
	for _, x := range v[1:] {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

func msStr(v float64) string { return fmt.Sprintf("%.3f ms", v) }

func signed(v float64) string { return fmt.Sprintf("%+.3f ms", v) }

func (rep *Report) header() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Command: `%s`\n\n", rep.Command)
	m := rep.Machine
	fmt.Fprintf(&b, "Machine: %s, %d CPUs, %s, %s", m.Host, m.CPUs, m.OS, m.Go)
	if m.Commit != "" {
		fmt.Fprintf(&b, ", checkout %s", m.Commit)
	}
	if m.Nginx != "" {
		fmt.Fprintf(&b, ", %s", m.Nginx)
	}
	fmt.Fprintf(&b, "; started %s.\n\n", rep.Started.Format(time.RFC3339))
	s := rep.Settings
	fmt.Fprintf(&b, "Load: the stub streams %d tokens, one every %s (token i due (i+1)·%s after the request), then a finish chunk, a usage chunk and [DONE]; "+
		"closed loops of %s concurrent streams, %s each (after one warm-up stream per connection), in %d rounds whose path order rotates, merged; driftcar as %s.\n",
		s.Tokens, s.Interval, s.Interval, joinInts(s.Streams), s.Duration, s.Rounds, s.Mode)
	return b.String()
}

func joinInts(v []int) string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, ", ")
}

func (rep *Report) legend() string {
	return "TTFT: request sent to the first content chunk. Inter-token: each gap between two content chunks of a stream. " +
		"Chunk lag: each content chunk's arrival after it was due on the stub's schedule, the judge of \"each chunk\": " +
		"a proxy that buffers the answer shows inter-token gaps near zero, because every chunk then arrives at once, but lags of up to the whole generation. " +
		"+X: this path's p99 minus direct's at the same concurrency. Latencies are from HDR histograms at 1 µs resolution, 3 significant digits.\n"
}

func (rep *Report) targetLines() string {
	if len(rep.Targets) == 0 {
		return fmt.Sprintf("No targets checked (they need direct and driftcar at %d streams).\n", TargetStreams)
	}
	var b strings.Builder
	for _, v := range rep.Targets {
		mark := "PASS"
		if !v.Pass {
			mark = "MISS"
		}
		fmt.Fprintf(&b, "- %s %s: %.3f %s (limit %.3f %s)\n", mark, v.Target, v.Got, v.Unit, v.Limit, v.Unit)
	}
	return b.String()
}

func (rep *Report) tail() string {
	var b strings.Builder
	for _, c := range rep.Cells {
		if c.Path != Direct || len(c.RoundTTFTP99) < 2 {
			continue
		}
		lo, hi := minMax(c.RoundTTFTP99)
		llo, lhi := minMax(c.RoundLagP99)
		fmt.Fprintf(&b, "- noise floor at %d streams: direct's own TTFT p99 ranged %.3f–%.3f ms and its chunk-lag p99 %.3f–%.3f ms across the %d rounds; an added p99 smaller than that spread is not resolved by this run\n",
			c.Streams, lo, hi, llo, lhi, len(c.RoundTTFTP99))
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(&b, "- skipped %s: %s\n", s.Path, s.Why)
	}
	for _, c := range rep.Cells {
		if c.FirstError != "" {
			fmt.Fprintf(&b, "- %s at %d streams: %d failed, first: %s\n", c.Path, c.Streams, c.Failed, c.FirstError)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	return b.String()
}

// Markdown is the report as a Markdown document.
func (rep *Report) Markdown() string {
	var b strings.Builder
	b.WriteString("# driftcar LLM streaming benchmark\n\n")
	b.WriteString(rep.header())
	b.WriteString("\nPaths:\n\n")
	for _, p := range rep.Paths {
		fmt.Fprintf(&b, "- `%s`: %s\n", p.Name, p.Description)
	}
	b.WriteString("\n## Results\n\n")
	b.WriteString(rep.Table())
	b.WriteString("\n" + rep.legend())
	if len(rep.Big) > 0 {
		b.WriteString("\n## One large response\n\n" + rep.bigLines())
	}
	fmt.Fprintf(&b, "\n## Targets (at %d streams)\n\n", TargetStreams)
	b.WriteString(rep.targetLines())
	if t := rep.tail(); t != "" {
		b.WriteString("\n## Notes\n\n" + t)
	}
	return b.String()
}

// Text is the report for a terminal: the same content, less markup.
func (rep *Report) Text() string {
	var b strings.Builder
	b.WriteString(rep.header())
	b.WriteString("\n")
	b.WriteString(rep.Table())
	b.WriteString("\n" + rep.legend())
	if len(rep.Big) > 0 {
		b.WriteString("\nOne large response:\n" + rep.bigLines())
	}
	fmt.Fprintf(&b, "\nTargets (at %d streams):\n", TargetStreams)
	b.WriteString(rep.targetLines())
	if t := rep.tail(); t != "" {
		b.WriteString("\n" + t)
	}
	return b.String()
}
