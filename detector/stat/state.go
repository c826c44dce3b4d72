package stat

import (
	"math"
	"time"
)

// State is the alarm state of a feature. Its numeric value is stable and
// suitable for an enum gauge.
type State uint8

// Alarm states.
const (
	// StateInsufficientData means a window has fewer than MinSamples
	// values and nothing breached: the feature is never reported ok then.
	StateInsufficientData State = iota
	// StateOK means every window was tested and nothing is near a breach.
	StateOK
	// StateWarning means a test is near or at its threshold but drift is
	// not confirmed.
	StateWarning
	// StateDrift means drift is confirmed.
	StateDrift
)

var stateNames = [...]string{"insufficient_data", "ok", "warning", "drift"}

// String returns the state's snake_case name.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Signal is what one evaluation says, from weakest to strongest evidence.
type Signal uint8

// Signals of an evaluation.
const (
	// SignalInsufficient: no breach, and some window lacks data.
	SignalInsufficient Signal = iota
	// SignalClean: every window tested, every p-value ≥ the warning level.
	SignalClean
	// SignalNear: a p-value is below the warning level but not the breach
	// level.
	SignalNear
	// SignalBreach: a p-value is below the calibrated breach level α.
	SignalBreach
	// SignalStrong: a p-value is below α·StrongRatio.
	SignalStrong
)

// Hysteresis configures the state machine.
type Hysteresis struct {
	// Confirm is the number of consecutive breaching evaluations that
	// confirm drift; zero means 2.
	Confirm int
	// Recover is the number of consecutive clean evaluations that end
	// drift; zero means 6.
	Recover int
}

func (h Hysteresis) withDefaults() Hysteresis {
	if h.Confirm <= 0 {
		h.Confirm = 2
	}
	if h.Recover <= 0 {
		h.Recover = 6
	}
	return h
}

// Machine is the alarm state machine of one feature. It is pure: its next
// state depends only on its state, the signal and the injected time. The
// zero value is not usable; use NewMachine.
//
// Transitions:
//   - a strong breach, or Confirm consecutive breaches, enter drift;
//   - a breach or a near breach outside drift enters warning;
//   - from warning, a clean evaluation returns to ok and an insufficient
//     one to insufficient_data;
//   - drift ends only after Recover consecutive clean evaluations (near
//     breaches and insufficient data keep it);
//   - otherwise clean means ok and insufficient means insufficient_data.
type Machine struct {
	h        Hysteresis
	state    State
	since    time.Time
	breaches int
	cleans   int
}

// NewMachine returns a machine in state insufficient_data.
func NewMachine(h Hysteresis) Machine {
	return Machine{h: h.withDefaults()}
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Since returns when the current state began (zero before any change).
func (m *Machine) Since() time.Time { return m.since }

// Step applies one evaluation's signal at time now. It returns the new
// state and whether it changed.
func (m *Machine) Step(now time.Time, s Signal) (State, bool) {
	if s >= SignalBreach {
		m.breaches++
	} else {
		m.breaches = 0
	}
	if s == SignalClean {
		m.cleans++
	} else {
		m.cleans = 0
	}
	next := m.state
	switch {
	case s == SignalStrong || (s == SignalBreach && m.breaches >= m.h.Confirm):
		next = StateDrift
	case m.state == StateDrift:
		if m.cleans >= m.h.Recover {
			next = StateOK
		}
	case s >= SignalNear:
		next = StateWarning
	case s == SignalClean:
		next = StateOK
	default:
		next = StateInsufficientData
	}
	if next == m.state {
		return next, false
	}
	m.state = next
	m.since = now
	return next, true
}

// Event is one state change of a feature, for the caller to log and export.
type Event struct {
	Feature string
	At      time.Time
	From    State
	To      State
	// Window and Test locate the strongest evidence at the change (the
	// lowest p-value); Window is −1 and Test is TestNone when there is none.
	Window int
	Test   Test
	// Statistic, Threshold and PValue are those of the strongest evidence;
	// NaN when there is none.
	Statistic, Threshold, PValue float64
}

func noEvidence(e *Event) {
	e.Window, e.Test = -1, TestNone
	e.Statistic, e.Threshold, e.PValue = math.NaN(), math.NaN(), math.NaN()
}

// signalOf is the signal of an evaluation whose lowest deciding p-value is
// minP at level alpha; all reports that every window was tested.
func signalOf(minP, alpha float64, all bool, o *Options) Signal {
	switch {
	case minP < alpha*o.StrongRatio:
		return SignalStrong
	case minP < alpha:
		return SignalBreach
	case minP < alpha*o.WarnRatio:
		return SignalNear
	case all:
		return SignalClean
	}
	return SignalInsufficient
}

// stepEvaluation steps m with e's signal at now, records the state in e,
// and returns the event of a change, with e's strongest evidence.
func stepEvaluation(m *Machine, e *Evaluation, name string, now time.Time) (Event, bool) {
	e.At = now
	from := m.State()
	to, changed := m.Step(now, e.Signal)
	e.State = to
	if !changed {
		return Event{}, false
	}
	ev := Event{Feature: name, At: now, From: from, To: to}
	if e.Window < 0 {
		noEvidence(&ev)
	} else {
		w := &e.Windows[e.Window]
		s := &w.Stats[w.Worst]
		ev.Window, ev.Test = e.Window, w.Worst
		ev.Statistic, ev.Threshold, ev.PValue = s.Value, s.Threshold, s.PValue
	}
	return ev, true
}
