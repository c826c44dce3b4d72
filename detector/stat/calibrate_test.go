package stat

import (
	"math"
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
