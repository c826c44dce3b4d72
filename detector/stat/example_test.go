package stat_test

import (
	"fmt"
	"time"

	"github.com/driftcar/driftcar/detector/stat"
)

func ExampleParseRate() {
	r, err := stat.ParseRate("1/30d")
	if err != nil {
		panic(err)
	}
	fmt.Println(r, r.Per)
	// Output: 1/30d 720h0m0s
}

func ExampleContingency() {
	ref := []float64{10, 20, 30} // reference counts, p_ref·M
	cur := []float64{15, 15, 20} // window counts
	g, df := stat.Contingency(ref, cur, stat.LogLikelihood)
	fmt.Printf("G = %.4f, df = %d, p = %.4f\n", g, df, stat.ContingencyPValue(g, df))
	// Output: G = 2.8267, df = 2, p = 0.2433
}

func ExampleFeature_Evaluate() {
	opts := stat.Options{
		Windows:        []time.Duration{time.Minute, 5 * time.Minute},
		FalseAlarmRate: stat.Rate{Events: 1, Per: 24 * time.Hour},
		Calibration:    stat.CalibrationOptions{Ticks: 5000},
	}
	cal, err := stat.NewCalibrator(opts)
	if err != nil {
		panic(err)
	}
	ref := stat.Reference{Numeric: true, Proportions: []float64{0.25, 0.25, 0.25, 0.25}, M: 10000}
	f, err := cal.NewFeature("age", ref)
	if err != nil {
		panic(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	calm := stat.Window{Cells: []uint64{250, 250, 250, 250}}
	shifted := stat.Window{Cells: []uint64{100, 200, 300, 400}}
	for i, ws := range [][]stat.Window{{calm, calm}, {shifted, calm}} {
		_, ev, changed := f.Evaluate(t0.Add(time.Duration(i)*10*time.Second), ws)
		if changed {
			fmt.Printf("%s -> %s (%s in window %d)\n", ev.From, ev.To, ev.Test, ev.Window)
		}
	}
	// Output:
	// insufficient_data -> ok (none in window -1)
	// ok -> drift (psi in window 0)
}
