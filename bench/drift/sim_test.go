package drift

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/driftcar/driftcar/detector/stat"
)

func logBench(t *testing.T, res *Result) {
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
	o := stat.Options{
		Windows:        []time.Duration{time.Minute, 5 * time.Minute},
		FalseAlarmRate: stat.Rate{Events: 1, Per: 24 * time.Hour},
		Calibration:    stat.CalibrationOptions{Ticks: 20000},
	}
	res, err := Simulate(Config{Options: o, RowsPerSecond: 20, ReferenceSize: 20000, Features: 2, Days: 0.05, Trials: 3, Horizon: 10 * time.Minute, Exact: true, Seed: 7})
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
	res, err := Simulate(Config{Features: 20, Days: 10, Trials: 30, Exact: true, Seed: 1})
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

// checkFalseAlarms asserts the observed rate is at most the configured one
// and its upper 95% bound at most twice it.
func checkFalseAlarms(t *testing.T, fa FalseAlarms) {
	t.Helper()
	t.Logf("false alarms: %d over %.1f feature-days = %.4g/feature-day, 95%% CI [%.4g, %.4g]; configured %.4g (observed/configured %.2f)",
		fa.Alarms, fa.FeatureDays, fa.PerFeatureDay, fa.Low, fa.High, fa.Configured, fa.PerFeatureDay/fa.Configured)
	if fa.PerFeatureDay > fa.Configured {
		t.Errorf("observed rate %.4g above configured %.4g", fa.PerFeatureDay, fa.Configured)
	}
	if fa.High > 2*fa.Configured {
		t.Errorf("upper 95%% bound %.4g above twice configured %.4g", fa.High, fa.Configured)
	}
}

// TestCalibrationFalseAlarmRate runs stationary multinomial streams through
// the full detector at a rate high enough (1/1h, small windows) to count
// hundreds of alarms in a second.
func TestCalibrationFalseAlarmRate(t *testing.T) {
	o := stat.Options{
		Windows:        []time.Duration{2 * time.Minute, 10 * time.Minute},
		FalseAlarmRate: stat.Rate{Events: 1, Per: time.Hour},
		Calibration:    stat.CalibrationOptions{Ticks: 20000},
	}
	res, err := Simulate(Config{Options: o, RowsPerSecond: 5, Features: 4, Days: 1.5, Shifts: []Shift{}, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Calibrations {
		t.Logf("numeric %v: α %.3g (union %.3g), slope %.2f, %d ticks in %s", c.Numeric, c.Alpha, c.UnionAlpha, c.Slope, c.Ticks, c.Elapsed)
		if c.Alpha < c.UnionAlpha {
			t.Errorf("α %v below the union bound %v", c.Alpha, c.UnionAlpha)
		}
	}
	checkFalseAlarms(t, res.FalseAlarms)
	if res.FalseAlarms.Alarms < 50 {
		t.Errorf("got %d alarms: the calibration wastes its budget", res.FalseAlarms.Alarms)
	}
}

func longTest(t *testing.T) {
	t.Helper()
	if os.Getenv("DRIFTCAR_LONG") != "1" {
		t.Skip("set DRIFTCAR_LONG=1 to run")
	}
}

// TestCalibrationLong checks the false-alarm rate at several configured
// rates and traffic levels. DRIFTCAR_LONG=1; about a minute.
func TestCalibrationLong(t *testing.T) {
	longTest(t)
	short := []time.Duration{2 * time.Minute, 10 * time.Minute}
	for _, tc := range []struct {
		rate    string
		windows []time.Duration
		rps     float64
		days    float64
	}{
		{"1/6h", short, 5, 40}, {"1/1d", short, 5, 100}, {"1/1d", short, 30, 60}, {"1/7d", short, 20, 300},
		// The defaults (5m and 1h windows, 1/30d) at the traffic the
		// calibration simulates: 2·MinSamples in the 5m window.
		{"1/30d", nil, 400.0 / 300, 600},
	} {
		t.Run(fmt.Sprintf("%s at %.3g rows per second", tc.rate, tc.rps), func(t *testing.T) {
			r, err := stat.ParseRate(tc.rate)
			if err != nil {
				t.Fatal(err)
			}
			o := stat.Options{Windows: tc.windows, FalseAlarmRate: r}
			res, err := Simulate(Config{Options: o, RowsPerSecond: tc.rps, Features: 10, Days: tc.days / 10, Shifts: []Shift{}, Seed: 21})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Calibrations {
				t.Logf("numeric %v: α %.3g (union %.3g), slope %.2f, extrapolated %v, %s", c.Numeric, c.Alpha, c.UnionAlpha, c.Slope, c.Extrapolated, c.Elapsed)
			}
			checkFalseAlarms(t, res.FalseAlarms)
		})
	}
}
