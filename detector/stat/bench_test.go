package stat

import (
	"testing"
	"time"
)

func logBench(t *testing.T, res *BenchResult) {
	t.Helper()
	for _, c := range res.Calibrations {
		t.Logf("calibration numeric=%v cells=%d: α %.3g (union %.3g, K %d), %d ticks (%s virtual) in %s", c.Numeric, c.Cells, c.Alpha, c.UnionAlpha, c.K, c.Ticks, c.Simulated, c.Elapsed.Round(time.Millisecond))
	}
	t.Logf("exact KS α %.3g", res.ExactAlpha)
	t.Logf("%-18s %22s %22s %6s", "shift", "binned MTTD", "exact KS MTTD", "ratio")
	for _, s := range res.Shifts {
		b, e := s.Binned, s.Exact
		ratio := 0.0
		if e.Detected > 0 && b.Detected > 0 {
			ratio = b.Mean.Seconds() / e.Mean.Seconds()
		}
		t.Logf("%-18s %6.1fs ±%4.1fs (%2d/%2d) %6.1fs ±%4.1fs (%2d/%2d) %6.2f", s.Shift.Name,
			b.Mean.Seconds(), b.HalfWidth.Seconds(), b.Detected, b.Trials,
			e.Mean.Seconds(), e.HalfWidth.Seconds(), e.Detected, e.Trials, ratio)
	}
	t.Logf("memory per feature: binned %d B, exact %d B, ratio %.4f", res.Memory.BinnedBytes, res.Memory.ExactBytes, res.Memory.Ratio)
	t.Logf("elapsed %s", res.Elapsed.Round(time.Millisecond))
}

// TestRunBenchShort runs a small benchmark: every shift must be detected.
func TestRunBenchShort(t *testing.T) {
	o := Options{
		Windows:        []time.Duration{time.Minute, 5 * time.Minute},
		FalseAlarmRate: Rate{Events: 1, Per: 24 * time.Hour},
		Calibration:    CalibrationOptions{Ticks: 20000},
	}
	res, err := RunBench(BenchConfig{Options: o, RowsPerSecond: 20, ReferenceSize: 20000, Features: 2, Days: 0.05, Trials: 3, Horizon: 10 * time.Minute, Exact: true, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	logBench(t, res)
	if len(res.Shifts) != 5 {
		t.Fatalf("got %d shifts; want 5", len(res.Shifts))
	}
	for _, s := range res.Shifts {
		if s.Binned.Detected != s.Binned.Trials {
			t.Errorf("%s: detected %d of %d", s.Shift.Name, s.Binned.Detected, s.Binned.Trials)
		}
		if s.Shift.Numeric && s.Exact.Trials != 3 {
			t.Errorf("%s: exact baseline ran %d trials", s.Shift.Name, s.Exact.Trials)
		}
	}
	if !(res.Memory.Ratio > 0 && res.Memory.Ratio < 0.05) {
		t.Errorf("memory ratio %v", res.Memory.Ratio)
	}
}

// TestRunBenchLong runs the benchmark at the defaults and checks its
// targets. DRIFTCAR_LONG=1; a few minutes of one core.
func TestRunBenchLong(t *testing.T) {
	longTest(t)
	res, err := RunBench(BenchConfig{Features: 20, Days: 10, Trials: 30, Exact: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	logBench(t, res)
	checkFalseAlarms(t, res.FalseAlarms)
	for _, s := range res.Shifts {
		if s.Binned.Detected < s.Binned.Trials {
			t.Errorf("%s: detected %d of %d", s.Shift.Name, s.Binned.Detected, s.Binned.Trials)
		}
		if s.Shift.Name == "mean+0.5sd" && s.Binned.Mean > time.Minute {
			t.Errorf("+0.5σ MTTD %s above 60 s", s.Binned.Mean)
		}
		if s.Exact.Detected > 0 && s.Binned.Mean.Seconds() > 1.25*s.Exact.Mean.Seconds() {
			t.Errorf("%s: binned MTTD %s above 1.25× exact %s", s.Shift.Name, s.Binned.Mean, s.Exact.Mean)
		}
	}
	if res.Memory.Ratio > 0.01 {
		t.Errorf("memory ratio %.4f above 1/100", res.Memory.Ratio)
	}
}
