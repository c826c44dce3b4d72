package demo

import (
	"fmt"
	"io"
	"math"
	"time"
)

// writeLabels writes what became of the labels sent.
func writeLabels(w io.Writer, c LabelCounts) {
	fmt.Fprintf(w, "%d sent (%.0f%% of requests, %s later): %d joined, %d unmatched, %d expired, %d duplicate, %d invalid; %d dropped, %d failed\n",
		c.Sent, 100*LabelShare, LabelDelay, c.Joined, c.Unmatched, c.Expired, c.Duplicate, c.Invalid, c.Dropped, c.Failed)
}

// writeArms writes one line per arm: labels, accuracy over window and
// since start, performance state and verdict, indented by indent.
func writeArms(w io.Writer, indent, window string, arms []ArmTruth) {
	fmt.Fprintf(w, "%s%-8s %8s  %-13s %-8s %-18s %s\n", indent, "arm", "labels", "accuracy "+window, "overall", "performance", "verdict vs live")
	for _, a := range arms {
		verdict := "champion"
		if a.Role != "live" {
			verdict = orDash(a.Verdict)
			if !math.IsNaN(a.Difference) {
				verdict += fmt.Sprintf(" (%+.1f points, n %d)", 100*a.Difference, a.N)
			}
		}
		fmt.Fprintf(w, "%s%-8s %8d  %-13s %-8s %-18s %s\n", indent, a.Arm, a.Labels, pct(a.Accuracy), pct(a.Overall), a.State, verdict)
	}
}

// pct is x as a percentage, or – for NaN.
func pct(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*x)
}

// performanceLine is the live arm's accuracy before the drift and at the
// end, and when its performance drift was detected.
func performanceLine(res *Result) string {
	before, after := (&truth{Arms: res.TruthBefore}).arm("live"), res.Arm("live")
	s := fmt.Sprintf("live accuracy %s before the drift, %s at the end (%s window); ", pct(before.Accuracy), pct(after.Accuracy), res.Window)
	switch {
	case res.PerformanceDetected:
		s += fmt.Sprintf("performance drift detected %s after injection", res.PerformanceDetectedAfter.Round(100*time.Millisecond))
	default:
		s += "performance drift not detected"
	}
	if res.PerformanceFalseAlarm {
		s += " (FALSE ALARM: in drift before the injection)"
	}
	return s
}

// orDash is s, or – for "".
func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
