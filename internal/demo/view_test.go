package demo

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

// TestViewShowsTruth: the full-screen view and the summary show each
// arm's labels, accuracy, performance state and verdict.
func TestViewShowsTruth(t *testing.T) {
	arms := []ArmTruth{
		{Arm: "live", Role: "live", Labels: 900, Accuracy: 0.62, Overall: 0.70, State: "drift", Difference: math.NaN()},
		{Arm: "shadow", Role: "shadow", Labels: 1000, Accuracy: 0.60, Overall: 0.66, State: "drift", Verdict: "worse", Difference: -0.031, N: 900},
	}
	snap := &snapshot{Truth: &truth{Arms: arms, Reference: 0.743, Window: "30s"}}
	res := &Result{Truth: arms, TruthBefore: []ArmTruth{{Arm: "live", Accuracy: 0.74}}, ReferenceAccuracy: 0.743, Window: "30s",
		PerformanceDetected: true, PerformanceDetectedAfter: 12 * time.Second, Labels: LabelCounts{Sent: 1000, Joined: 998, Unmatched: 2}}
	var b bytes.Buffer
	newView(&b, true, Options{Rate: 10}).render(20*time.Second, 10*time.Second, trafficStats{drifted: true, labels: res.Labels}, snap, res)
	summary(&b, res, Options{})
	out := b.String()
	for _, want := range []string{
		"1000 sent (50% of requests, 3s later): 998 joined, 2 unmatched",
		"reference accuracy 74.3%",
		"worse (-3.1 points, n 900)",
		"live accuracy 74.0% before the drift, 62.0% at the end (30s window); performance drift detected 12s after injection",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "62.0%         70.0%    drift") != 2 {
		t.Errorf("want the live row in the view and the summary:\n%s", out)
	}
}
