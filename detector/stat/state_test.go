package stat

import (
	"math"
	"testing"
	"time"
)

func TestMachine(t *testing.T) {
	const (
		I = SignalInsufficient
		C = SignalClean
		N = SignalNear
		B = SignalBreach
		S = SignalStrong
	)
	for _, tc := range []struct {
		name    string
		signals []Signal
		want    []State
	}{
		{"starts insufficient, never ok without data", []Signal{I, I}, []State{StateInsufficientData, StateInsufficientData}},
		{"clean is ok", []Signal{I, C, C}, []State{StateInsufficientData, StateOK, StateOK}},
		{"near is warning, clean clears it", []Signal{C, N, C}, []State{StateOK, StateWarning, StateOK}},
		{"one breach only warns", []Signal{C, B, C}, []State{StateOK, StateWarning, StateOK}},
		{"two breaches confirm", []Signal{C, B, B}, []State{StateOK, StateWarning, StateDrift}},
		{"interrupted breaches do not confirm", []Signal{C, B, N, B, C}, []State{StateOK, StateWarning, StateWarning, StateWarning, StateOK}},
		{"strong breach confirms at once", []Signal{C, S}, []State{StateOK, StateDrift}},
		{"strong from insufficient", []Signal{I, S}, []State{StateInsufficientData, StateDrift}},
		{"warning lacking data", []Signal{C, N, I}, []State{StateOK, StateWarning, StateInsufficientData}},
		{"drift holds through near, breach and no data",
			[]Signal{S, N, B, I, C, C, C, C, C},
			[]State{StateDrift, StateDrift, StateDrift, StateDrift, StateDrift, StateDrift, StateDrift, StateDrift, StateDrift}},
		{"recovery needs consecutive cleans",
			[]Signal{S, C, C, C, N, C, C, C, C, C, C},
			[]State{StateDrift, StateDrift, StateDrift, StateDrift, StateDrift, StateDrift, StateDrift, StateDrift, StateDrift, StateDrift, StateOK}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMachine(Hysteresis{})
			t0 := time.Unix(0, 0)
			for i, s := range tc.signals {
				got, _ := m.Step(t0.Add(time.Duration(i)*time.Second), s)
				if got != tc.want[i] {
					t.Fatalf("step %d (signal %d): got %s; want %s", i, s, got, tc.want[i])
				}
			}
		})
	}
}

func TestMachineDeterministicSince(t *testing.T) {
	m := NewMachine(Hysteresis{Confirm: 3, Recover: 2})
	t0 := time.Unix(100, 0)
	steps := []struct {
		s       Signal
		changed bool
		state   State
	}{
		{SignalClean, true, StateOK},
		{SignalBreach, true, StateWarning},
		{SignalBreach, false, StateWarning},
		{SignalBreach, true, StateDrift},
		{SignalClean, false, StateDrift},
		{SignalClean, true, StateOK},
	}
	for i, st := range steps {
		now := t0.Add(time.Duration(i) * 10 * time.Second)
		got, changed := m.Step(now, st.s)
		if got != st.state || changed != st.changed {
			t.Fatalf("step %d: got %s, changed %v; want %s, %v", i, got, changed, st.state, st.changed)
		}
		if changed && !m.Since().Equal(now) {
			t.Fatalf("step %d: since %v; want %v", i, m.Since(), now)
		}
	}
}

// testFeature builds a numeric feature with B equiprobable bins at a fixed
// level, without simulation.
func testFeature(t testing.TB, alpha float64, o Options) (*Feature, Reference) {
	t.Helper()
	o, err := o.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	ref := Reference{Numeric: true, Proportions: make([]float64, 10), M: 100000, Std: 1, MissingRate: 0.01}
	ref.Edges = make([]float64, 9)
	for i := range ref.Proportions {
		ref.Proportions[i] = 0.1
	}
	for i := range ref.Edges {
		ref.Edges[i] = float64(i + 1)
	}
	ref.Min, ref.Max = 0, 10
	f, err := newFeature("x", &ref, &o, alpha)
	if err != nil {
		t.Fatal(err)
	}
	return f, ref
}

func uniformWindow(n uint64, cells int) Window {
	w := Window{Cells: make([]uint64, cells)}
	for i := range w.Cells {
		w.Cells[i] = n / uint64(cells)
	}
	return w
}

func TestFeatureStates(t *testing.T) {
	f, _ := testFeature(t, 1e-6, Options{MinSamples: 200})
	t0 := time.Unix(0, 0)
	small, big := uniformWindow(100, 10), uniformWindow(5000, 10)
	shifted := uniformWindow(5000, 10)
	shifted.Cells[0], shifted.Cells[9] = 0, 1000

	e, _, changed := f.Evaluate(t0, []Window{small, big})
	if e.State != StateInsufficientData || changed {
		t.Fatalf("short window: got %s (changed %v); want insufficient_data", e.State, changed)
	}
	if e.Windows[0].Tested || !e.Windows[1].Tested || !math.IsNaN(e.Windows[0].Stats[TestKS].Value) {
		t.Fatalf("got tested %v/%v", e.Windows[0].Tested, e.Windows[1].Tested)
	}
	e, ev, changed := f.Evaluate(t0.Add(10*time.Second), []Window{big, big})
	if e.State != StateOK || !changed || ev.From != StateInsufficientData || ev.To != StateOK || ev.Test != TestNone {
		t.Fatalf("got %s, event %+v", e.State, ev)
	}
	// A short window does not hide a breach in the long one.
	e, ev, changed = f.Evaluate(t0.Add(20*time.Second), []Window{small, shifted})
	if e.State != StateDrift || !changed || ev.Window != 1 || ev.PValue >= f.Alpha()*f.opts.StrongRatio {
		t.Fatalf("got %s, event %+v", e.State, ev)
	}
	if !e.Windows[1].Stats[ev.Test].Breach || ev.Statistic <= ev.Threshold {
		t.Fatalf("event statistic %v not above threshold %v", ev.Statistic, ev.Threshold)
	}
	for i := range 6 {
		e, _, _ = f.Evaluate(t0.Add(time.Duration(30+10*i)*time.Second), []Window{big, big})
	}
	if e.State != StateOK {
		t.Fatalf("after 6 clean evaluations got %s; want ok", e.State)
	}
}

func TestFeatureRates(t *testing.T) {
	f, _ := testFeature(t, 1e-6, Options{})
	w := uniformWindow(10000, 10)
	w.Missing = 100 // 1%: the reference rate
	e, _, _ := f.Evaluate(time.Unix(0, 0), []Window{w, w})
	s := e.Windows[0].Stats[TestMissing]
	if s.Breach || !(s.PValue > 0.01) || !(s.Threshold > 0.01 && s.Threshold < 0.03) {
		t.Fatalf("missing at reference rate: got %+v", s)
	}
	w.Missing = 400
	w.Below = 20 // reference rate 2/(M+1)
	e, _, _ = f.Evaluate(time.Unix(10, 0), []Window{w, w})
	for _, tt := range []Test{TestMissing, TestOutOfRange} {
		if s := e.Windows[0].Stats[tt]; !s.Breach || s.Value <= s.Threshold {
			t.Errorf("%s: got %+v; want a breach", tt, s)
		}
	}
	if e.Signal != SignalStrong {
		t.Errorf("got signal %d; want strong", e.Signal)
	}
}

func TestFeatureMismatchedWindows(t *testing.T) {
	f, _ := testFeature(t, 1e-6, Options{})
	e, _, _ := f.Evaluate(time.Unix(0, 0), []Window{uniformWindow(1000, 3)})
	if e.State != StateInsufficientData || e.Windows[0].Tested || e.Windows[1].Tested {
		t.Fatalf("got %s; want insufficient_data", e.State)
	}
}

func TestStrings(t *testing.T) {
	if StateInsufficientData.String() != "insufficient_data" || StateDrift.String() != "drift" || State(9).String() != "unknown" {
		t.Error("state names")
	}
	if TestMissing.String() != "missing_rate" || TestNone.String() != "none" || Holm.String() != "holm" || BenjaminiHochberg.String() != "bh" {
		t.Error("test names")
	}
}
