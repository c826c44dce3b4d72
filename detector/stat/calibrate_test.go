package stat

import (
	"fmt"
	"math"
	"os"
	"testing"
	"time"
)

func TestFitAlpha(t *testing.T) {
	// Onset rate r(α) = 100·α^0.8 per second at levels α_j.
	levels := func(events func(r float64) int) []LevelRate {
		var lv []LevelRate
		for j := range numLevels {
			a := levelAlpha(j)
			r := 100 * math.Pow(a, 0.8)
			lv = append(lv, LevelRate{Alpha: a, Rate: r, Events: events(r)})
		}
		return lv
	}
	t.Run("interpolate", func(t *testing.T) {
		lv := levels(func(float64) int { return 1000 })
		target := 100 * math.Pow(3e-5, 0.8)
		a, s, ex := fitAlpha(lv, target, 20)
		if ex || math.Abs(a/3e-5-1) > 1e-9 || math.Abs(s-0.8) > 1e-9 {
			t.Fatalf("got α %v slope %v extrapolated %v; want 3e-5, 0.8, false", a, s, ex)
		}
	})
	t.Run("extrapolate", func(t *testing.T) {
		// Only levels with rate ≥ 0.05 have enough events.
		lv := levels(func(r float64) int {
			if r >= 0.05 {
				return 100
			}
			return 5
		})
		target := 100 * math.Pow(1e-7, 0.8)
		a, s, ex := fitAlpha(lv, target, 20)
		if !ex || math.Abs(a/1e-7-1) > 1e-6 || math.Abs(s-0.8) > 1e-6 {
			t.Fatalf("got α %v slope %v extrapolated %v; want 1e-7, 0.8, true", a, s, ex)
		}
	})
	t.Run("nothing reliable", func(t *testing.T) {
		lv := levels(func(float64) int { return 1 })
		if a, _, _ := fitAlpha(lv, 1e-9, 20); a != 0 {
			t.Fatalf("got α %v; want 0 (union bound)", a)
		}
	})
}

func TestCalibratorOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"slice not a multiple of tick", Options{Slice: time.Minute, Every: 7 * time.Second}},
		{"window not a multiple of slice", Options{Windows: []time.Duration{90 * time.Second}}},
		{"windows not increasing", Options{Windows: []time.Duration{time.Hour, 5 * time.Minute}}},
		{"rate too high", Options{FalseAlarmRate: Rate{Events: 1, Per: time.Minute}}},
		{"strong ratio", Options{StrongRatio: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewCalibrator(tc.o); err == nil {
				t.Fatal("got no error")
			}
		})
	}
	c, err := NewCalibrator(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.NewFeature("bad", Reference{Proportions: []float64{1}}); err == nil {
		t.Fatal("got no error for one cell")
	}
	if _, err := c.NewFeature("bad", Reference{Proportions: []float64{0.5, 0.5}, M: 10, MissingRate: 1}); err == nil {
		t.Fatal("got no error for missing rate 1")
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
	o := Options{
		Windows:        []time.Duration{2 * time.Minute, 10 * time.Minute},
		FalseAlarmRate: Rate{Events: 1, Per: time.Hour},
		Calibration:    CalibrationOptions{Ticks: 20000},
	}
	res, err := RunBench(BenchConfig{Options: o, RowsPerSecond: 5, Features: 4, Days: 1.5, Shifts: []Shift{}, Seed: 11})
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
			r, err := ParseRate(tc.rate)
			if err != nil {
				t.Fatal(err)
			}
			o := Options{Windows: tc.windows, FalseAlarmRate: r}
			res, err := RunBench(BenchConfig{Options: o, RowsPerSecond: tc.rps, Features: 10, Days: tc.days / 10, Shifts: []Shift{}, Seed: 21})
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
