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
	short := fs.Bool("short", false, "a quick run: 4 features, 0.25 day, 5 trials")
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
