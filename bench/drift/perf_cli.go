package drift

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// PrintPerformance writes the performance-drift result as a table.
func PrintPerformance(w io.Writer, res *PerfResult) {
	c := res.Config
	fmt.Fprintf(w, "\nperformance drift — accuracy %.2f → %.2f at %.0f labels/s, reference of %d labelled rows, α %.3g per evaluation (union floor %.3g), %d trials (%s wall)\n\n",
		c.Before, c.After, c.LabelsPerSecond, c.ReferenceSize, res.Alpha, res.Calibration.UnionAlpha, c.Trials, res.Elapsed.Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "detector\tmedian MTTD\tp90 MTTD\tdetected\tfalse alarms\tstream-days\tper day (95% CI)\tconfigured\t")
	for _, d := range []struct {
		name string
		r    PerfDetector
	}{
		{"calibrated, slice windows", res.Calibrated},
		{"exact binomial, sliding 5m", res.Exact},
	} {
		fa := d.r.FalseAlarms
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%.0f\t%.4f (%.4f–%.4f)\t%.4f\t\n", d.name,
			d.r.Delay.Median.Round(time.Second), d.r.P90.Round(time.Second), d.r.Delay.Detected, d.r.Delay.Trials,
			fa.Alarms, fa.FeatureDays, fa.PerFeatureDay, fa.Low, fa.High, fa.Configured)
	}
	_ = tw.Flush()
}
