package harness

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// table is rows of cells that render as a Markdown table or as aligned
// text. Columns whose header starts with ">" are right-aligned.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) markdown(b *strings.Builder) {
	names := make([]string, len(t.header))
	seps := make([]string, len(t.header))
	for i, h := range t.header {
		names[i] = strings.TrimPrefix(h, ">")
		seps[i] = "---"
		if strings.HasPrefix(h, ">") {
			seps[i] = "---:"
		}
	}
	fmt.Fprintf(b, "| %s |\n|%s|\n", strings.Join(names, " | "), strings.Join(seps, "|"))
	for _, r := range t.rows {
		fmt.Fprintf(b, "| %s |\n", strings.Join(r, " | "))
	}
}

func (t *table) text(b *strings.Builder) {
	widths := make([]int, len(t.header))
	all := append([][]string{t.header}, t.rows...)
	for _, r := range all {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], utf8.RuneCountInString(strings.TrimPrefix(c, ">")))
			}
		}
	}
	for _, r := range all {
		var line strings.Builder
		for i, c := range r {
			if i >= len(widths) {
				break
			}
			c = strings.TrimPrefix(c, ">")
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				line.WriteString("  ")
			}
			if strings.HasPrefix(t.header[i], ">") {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}

func fnum(v float64, prec int) string { return fmt.Sprintf("%.*f", prec, v) }

func fptr(v *float64, format string) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf(format, *v)
}

func rateName(r float64) string { return fmt.Sprintf("%g/s", r) }

// summaryTable is the main table: closed-loop maximum, then the open-loop
// figures at the table rate.
func (rep *Report) summaryTable() *table {
	t := &table{header: []string{"scenario", ">max req/s", ">req/s", ">p50 ms", ">p90 ms", ">p99 ms", ">p99.9 ms",
		">+p50 ms", ">+p99 ms", ">CPU s/1k req", ">peak RSS MiB", ">failed"}}
	for _, s := range rep.Scenarios {
		if s.Skipped != "" {
			t.add(s.Name, "skipped", "", "", "", "", "", "", "", "", "", "")
			continue
		}
		row := []string{s.Name, "—"}
		if s.Max != nil {
			row[1] = fnum(s.Max.Achieved, 0)
		}
		p := s.at(rep.Settings.TableRate)
		switch {
		case p == nil || p.Skipped != "":
			row = append(row, "—", "—", "—", "—", "—", "—", "—")
		case p.Saturated:
			row = append(row, fnum(p.Achieved, 0)+" (saturated)", "—", "—", "—", "—", "—", "—")
		default:
			row = append(row, fnum(p.Achieved, 0), fnum(p.Latency.P50, 3), fnum(p.Latency.P90, 3), fnum(p.Latency.P99, 3),
				fnum(p.Latency.P999, 3), fptr(p.AddedP50, "%+.3f"), fptr(p.AddedP99, "%+.3f"))
		}
		cpu := "—"
		if p != nil && p.CPUPer1k != nil {
			cpu = fnum(*p.CPUPer1k, 4)
			if p.CPUEstimated {
				cpu = "≈" + cpu
			}
		}
		row = append(row, cpu, fptr(s.PeakRSSMiB, "%.1f"), strconv.FormatInt(s.Failed, 10))
		t.add(row...)
	}
	return t
}

func (rep *Report) ratioTable() *table {
	t := &table{header: []string{"ratio (same run)", ">value", "compared", "target", "result"}}
	for _, r := range rep.Ratios {
		v, target := "—", "(information)"
		switch {
		case r.Value == nil:
		case *r.Value < 0.1:
			v = fmt.Sprintf("%.3f×", *r.Value)
		default:
			v = fmt.Sprintf("%.2f×", *r.Value)
		}
		if r.Op != "" {
			target = fmt.Sprintf("%s %.2f×", map[string]string{">=": "≥", "<=": "≤"}[r.Op], r.Target)
		}
		t.add(r.Name, v, r.Detail, target, r.Verdict())
	}
	return t
}

func (rep *Report) sweepTable() *table {
	t := &table{header: []string{"scenario"}}
	for _, r := range rep.Settings.Rates {
		t.header = append(t.header, ">"+rateName(r)+" p50 / p99 ms")
	}
	for _, s := range rep.Scenarios {
		if s.Skipped != "" {
			continue
		}
		row := []string{s.Name}
		for _, r := range rep.Settings.Rates {
			p := s.at(r)
			switch {
			case p == nil || p.Skipped != "":
				row = append(row, "—")
			case p.Saturated:
				row = append(row, fmt.Sprintf("saturated (%.0f/s)", p.Achieved))
			default:
				row = append(row, fmt.Sprintf("%.3f / %.3f", p.Latency.P50, p.Latency.P99))
			}
		}
		t.add(row...)
	}
	return t
}

// tapTable shows that the taps did their work during the load.
func (rep *Report) tapTable() *table {
	t := &table{header: []string{"scenario", ">requests", ">canary share", ">shadow compared", ">shadow not compared",
		">sampled rows", ">sampler drops", ">drift evaluations", ">joined predictions", ">join drops"}}
	found := false
	for _, s := range rep.Scenarios {
		if s.Kind != KindDriftcar || s.Skipped != "" || len(s.Taps) == 0 {
			continue
		}
		found = true
		sum := func(prefix string, match func(string) bool) float64 {
			var v float64
			for k, x := range s.Taps {
				if (k == prefix || strings.HasPrefix(k, prefix+"{")) && (match == nil || match(k)) {
					v += x
				}
			}
			return v
		}
		reqs := sum("driftcar_requests_total", nil)
		canary := "—"
		if c := sum("driftcar_requests_total", func(k string) bool { return strings.Contains(k, `arm="canary"`) }); reqs > 0 && c > 0 {
			canary = fmt.Sprintf("%.1f%%", c/reqs*100)
		}
		shadowAll := sum("driftcar_shadow_requests_total", nil)
		shadowOK := sum("driftcar_shadow_requests_total", func(k string) bool { return strings.Contains(k, `result="ok"`) })
		shadowCell := func(v float64) string {
			if shadowAll == 0 {
				return "—"
			}
			return fmt.Sprintf("%.0f (%.1f%%)", v, v/shadowAll*100)
		}
		cell := func(v float64) string {
			if v == 0 {
				return "—"
			}
			return fnum(v, 0)
		}
		t.add(s.Name, fnum(reqs, 0), canary, shadowCell(shadowOK), shadowCell(shadowAll-shadowOK),
			cell(sum("driftcar_sampler_rows_total", nil)), cell(sum("driftcar_sampler_dropped_total", nil)),
			cell(sum("driftcar_drift_evaluations_total", nil)),
			cell(sum("driftcar_ground_truth_predictions_total", nil)), cell(sum("driftcar_ground_truth_dropped_total", nil)))
	}
	if !found {
		return nil
	}
	return t
}

func (rep *Report) machineLine() string {
	m := rep.Machine
	parts := []string{m.Host, fmt.Sprintf("%d CPUs", m.CPUs)}
	if m.CPUModel != "" {
		parts[1] += " (" + m.CPUModel + ")"
	}
	if m.MemoryGiB > 0 {
		parts = append(parts, fmt.Sprintf("%.1f GiB", m.MemoryGiB))
	}
	sys := m.OS
	if m.Kernel != "" {
		sys += " " + m.Kernel
	}
	parts = append(parts, sys, m.Go)
	if m.Nginx != "" {
		parts = append(parts, m.Nginx)
	}
	return strings.Join(parts, ", ")
}

func (rep *Report) settingsLine() string {
	s := rep.Settings
	where := "a child process per scenario"
	if s.Mode == ModeInProcess {
		where = "inside the harness process"
	}
	proto := map[string]string{"v1": "KServe v1", "v2": "Open Inference v2"}[s.Protocol]
	rates := make([]string, len(s.Rates))
	for i, r := range s.Rates {
		rates[i] = fmt.Sprintf("%g", r)
	}
	return fmt.Sprintf("driftcar as %s; a small %s JSON POST; %d interleaved rounds of %gs per scenario and load level; "+
		"closed loop with %d connections; open loop at %s req/s (at most %d in flight).",
		where, proto, s.Rounds, s.DurationS, s.Conns, strings.Join(rates, ", "), s.MaxInFlight)
}

func (rep *Report) summaryCaption() string {
	r := rep.Settings.TableRate
	return fmt.Sprintf("**max req/s**: closed loop, %d connections (median of rounds). The other columns are at an open-loop "+
		"rate of %g req/s: **req/s** answered; latency from each request's *intended* send time (corrected for coordinated "+
		"omission); **+p50/+p99**: added over `direct` at the same rate; **CPU**: the proxy process's user+system time "+
		"per 1,000 requests, from /proc; **peak RSS**: the proxy process's high-water mark over the whole run; "+
		"**failed**: requests without a 2xx answer over all runs.",
		rep.Settings.Conns, r)
}

// Markdown renders the report as bench/results/<date>-<host>.md.
func (rep *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# driftcar-bench proxy — %s\n\n", rep.Started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "**Machine:** %s. The load generator, the model stubs and the proxies share these CPUs.\n\n", rep.machineLine())
	fmt.Fprintf(&b, "**Command:** `%s` — %s\n\n", rep.Command, rep.settingsLine())
	b.WriteString("## Summary\n\n")
	rep.summaryTable().markdown(&b)
	fmt.Fprintf(&b, "\n%s\n\n", rep.summaryCaption())
	b.WriteString("## Targets\n\n")
	rep.ratioTable().markdown(&b)
	b.WriteString("\n## Latency vs offered rate\n\n")
	if rep.Plot != "" {
		fmt.Fprintf(&b, "![p99 latency vs offered rate](%s)\n\n", rep.Plot)
	}
	rep.sweepTable().markdown(&b)
	if t := rep.tapTable(); t != nil {
		b.WriteString("\n## driftcar taps during the runs\n\n")
		t.markdown(&b)
	}
	if len(rep.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range rep.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	b.WriteString("\n## Per run\n\n```\n")
	rep.runTable().text(&b)
	b.WriteString("```\n")
	return b.String()
}

func (rep *Report) runTable() *table {
	t := &table{header: []string{"scenario", "mode", ">offered", ">round", ">req/s", ">p50 ms", ">p99 ms", ">failed", ">CPU s/1k",
		">in flight", ">send lag p99 ms"}}
	for _, r := range rep.Runs {
		offered := "-"
		if r.Offered > 0 {
			offered = fmt.Sprintf("%g", r.Offered)
		}
		cpu := "-"
		if r.CPUPer1k != nil {
			cpu = fnum(*r.CPUPer1k, 4)
		}
		inFlight, lag := "-", "-"
		if r.Mode == "open" {
			inFlight, lag = strconv.Itoa(r.InFlight), fnum(r.SendLagP99, 3)
		}
		t.add(r.Scenario, r.Mode, offered, strconv.Itoa(r.Round), fnum(r.Achieved, 0), fnum(r.P50, 3), fnum(r.P99, 3),
			strconv.FormatInt(r.Failed, 10), cpu, inFlight, lag)
	}
	return t
}

// Text renders the report for a terminal.
func (rep *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "driftcar-bench proxy — %s\n%s\n%s\n\n", rep.Started.UTC().Format("2006-01-02 15:04 MST"), rep.machineLine(), rep.Command)
	fmt.Fprintf(&b, "At %g req/s open loop (latency in ms from the intended send time); max req/s closed loop, %d connections:\n\n",
		rep.Settings.TableRate, rep.Settings.Conns)
	rep.summaryTable().text(&b)
	b.WriteString("\n")
	rep.ratioTable().text(&b)
	b.WriteString("\nLatency vs offered rate:\n\n")
	rep.sweepTable().text(&b)
	if len(rep.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range rep.Notes {
			fmt.Fprintf(&b, "* %s\n", n)
		}
	}
	return b.String()
}

// missedTargets lists the ratios whose target was missed, for the exit
// summary.
func (rep *Report) missedTargets() []string {
	var out []string
	for _, r := range rep.Ratios {
		if r.Met != nil && !*r.Met {
			out = append(out, r.Name+": "+r.Verdict())
		}
	}
	return slices.Clip(out)
}
