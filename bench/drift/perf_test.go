package drift

import (
	"testing"
	"time"

	"github.com/driftcar/driftcar/detector/stat"
)

func logPerf(t *testing.T, res *PerfResult) {
	t.Helper()
	c := res.Calibration
	t.Logf("calibration: α %.3g (union %.3g, K %d), slope %.2f, extrapolated %v, %d ticks in %s", c.Alpha, c.UnionAlpha, c.K, c.Slope, c.Extrapolated, c.Ticks, c.Elapsed.Round(time.Millisecond))
	for name, d := range map[string]PerfDetector{"calibrated": res.Calibrated, "exact": res.Exact} {
		fa := d.FalseAlarms
		t.Logf("%-10s median %s p90 %s mean %s detected %d/%d; %d false alarms in %.0f stream-days (configured %.3g/day)",
			name, d.Delay.Median.Round(time.Second), d.P90.Round(time.Second), d.Delay.Mean.Round(time.Second), d.Delay.Detected, d.Delay.Trials, fa.Alarms, fa.FeatureDays, fa.Configured)
	}
}

// TestPerformanceBenchShort runs the performance scenario at the default
// windows and false-alarm rate with a small calibration budget: every drop
// is detected by both detectors within minutes, and the stationary part
// raises no alarm.
func TestPerformanceBenchShort(t *testing.T) {
	res, err := SimulatePerformance(PerfConfig{Options: stat.Options{Calibration: stat.CalibrationOptions{Ticks: 20000}}, Trials: 20, Streams: 2, Days: 0.5, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	logPerf(t, res)
	for name, d := range map[string]PerfDetector{"calibrated": res.Calibrated, "exact": res.Exact} {
		if d.Delay.Detected != d.Delay.Trials {
			t.Errorf("%s: detected %d of %d drops", name, d.Delay.Detected, d.Delay.Trials)
		}
		if d.P90 > 5*time.Minute || d.Delay.Median > d.P90 || d.Delay.Median <= 0 {
			t.Errorf("%s: median %s p90 %s; want 0 < median ≤ p90 ≤ 5m", name, d.Delay.Median, d.P90)
		}
		if d.FalseAlarms.Alarms != 0 {
			t.Errorf("%s: %d false alarms in a stream-day at 1/30d", name, d.FalseAlarms.Alarms)
		}
	}
	if res.Alpha < res.Calibration.UnionAlpha {
		t.Errorf("α %v below the union floor %v", res.Alpha, res.Calibration.UnionAlpha)
	}
}

// TestPerformanceBenchLong runs the scenario at the defaults (the figures
// in docs/drift-method.md) and checks the false alarms. DRIFTCAR_LONG=1.
func TestPerformanceBenchLong(t *testing.T) {
	longTest(t)
	res, err := SimulatePerformance(PerfConfig{Trials: 1000, Streams: 40, Days: 10, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	logPerf(t, res)
	checkFalseAlarms(t, res.Calibrated.FalseAlarms)
	if res.Calibrated.Delay.Detected != res.Calibrated.Delay.Trials {
		t.Errorf("detected %d of %d drops", res.Calibrated.Delay.Detected, res.Calibrated.Delay.Trials)
	}
}
