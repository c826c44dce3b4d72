package drift

import (
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/driftcar/driftcar/detector/stat"
)

// RunCLI runs `driftcar-bench drift` with args and returns the exit code.
func RunCLI(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drift", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rate := fs.String("false-alarm-rate", "1/30d", "configured false-alarm rate per feature")
	rows := fs.Float64("rows-per-second", 50, "sampled rows per second per feature")
	days := fs.Float64("days", 1, "simulated stationary days per feature")
	features := fs.Int("features", 20, "stationary features (half numeric)")
	trials := fs.Int("trials", 20, "trials per shift")
	seed := fs.Uint64("seed", 1, "seed of every generator")
	labels := fs.Float64("labels-per-second", 20, "labelled outcomes per second of the performance scenario")
	perfTrials := fs.Int("perf-trials", 500, "trials of the accuracy drop (0.90 → 0.85)")
	perfStreams := fs.Int("perf-streams", 20, "stationary labelled streams for the performance false alarms")
	perfDays := fs.Float64("perf-days", 20, "simulated days per stationary labelled stream")
	short := fs.Bool("short", false, "a quick run: 4 features, 0.25 day, 5 trials; 50 drops, 2 labelled streams × 0.25 day")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	r, err := stat.ParseRate(*rate)
	if err != nil {
		fmt.Fprintf(stderr, "driftcar-bench drift: --false-alarm-rate: %v\n", err)
		return 2
	}
	cfg := Config{
		RowsPerSecond: *rows, Features: *features, Days: *days, Trials: *trials, Exact: true, Seed: *seed,
	}
	cfg.Options = stat.DefaultOptions()
	cfg.Options.FalseAlarmRate = r
	if *short {
		cfg.Features, cfg.Days, cfg.Trials = 4, 0.25, 5
	}
	fmt.Fprintf(stderr, "simulating %d features × %.2g days and %d trials per shift at %.0f rows/s ...\n",
		cfg.Features, cfg.Days, cfg.Trials, cfg.RowsPerSecond)
	res, err := Simulate(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "driftcar-bench drift: %v\n", err)
		return 1
	}
	Print(stdout, res)
	pc := PerfConfig{Options: cfg.Options, LabelsPerSecond: *labels, Trials: *perfTrials, Streams: *perfStreams, Days: *perfDays, Seed: *seed}
	if *short {
		pc.Trials, pc.Streams, pc.Days = 50, 2, 0.25
	}
	fmt.Fprintf(stderr, "simulating %d labelled streams × %.2g days and %d accuracy drops at %.0f labels/s ...\n", pc.Streams, pc.Days, pc.Trials, pc.LabelsPerSecond)
	pres, err := SimulatePerformance(pc)
	if err != nil {
		fmt.Fprintf(stderr, "driftcar-bench drift: %v\n", err)
		return 1
	}
	PrintPerformance(stdout, pres)
	return 0
}

// Print writes the result as tables.
func Print(w io.Writer, res *Result) {
	fa := res.FalseAlarms
	o := res.Config.Options
	fmt.Fprintf(w, "driftcar-bench drift — windows %v, tick %s, false_alarm_rate %s, %.0f rows/s per feature (simulated clock, %s wall)\n\n",
		o.Windows, o.Every, o.FalseAlarmRate, res.Config.RowsPerSecond, res.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "false alarms: %d in %.0f feature-days = %.4f per feature-day (95%% CI %.4f–%.4f); configured %.4f; upper bound / configured = %.2f\n\n",
		fa.Alarms, fa.FeatureDays, fa.PerFeatureDay, fa.Low, fa.High, fa.Configured, fa.High/fa.Configured)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "shift\tbinned MTTD\tdetected\texact KS MTTD\tdetected\tratio\t")
	for _, s := range res.Shifts {
		exact, ratio := "—", "—"
		if s.Exact.Trials > 0 {
			exact = fmt.Sprintf("%s ± %s", s.Exact.Mean.Round(100*time.Millisecond), s.Exact.HalfWidth.Round(100*time.Millisecond))
			if s.Exact.Mean > 0 {
				ratio = fmt.Sprintf("%.2f", float64(s.Binned.Mean)/float64(s.Exact.Mean))
			}
		}
		fmt.Fprintf(tw, "%s\t%s ± %s\t%d/%d\t%s\t%s\t%s\t\n", s.Shift.Name,
			s.Binned.Mean.Round(100*time.Millisecond), s.Binned.HalfWidth.Round(100*time.Millisecond),
			s.Binned.Detected, s.Binned.Trials, exact, fmt.Sprintf("%d/%d", s.Exact.Detected, s.Exact.Trials), ratio)
	}
	_ = tw.Flush()
	m := res.Memory
	fmt.Fprintf(w, "\nmemory per feature: binned %d B, exact KS %d B (ratio %.4f)\n", m.BinnedBytes, m.ExactBytes, m.Ratio)
}
