package demo

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/driftcar/driftcar/groundtruth"
)

// ArmTruth is one arm's labelled performance, as /api/ground-truth shows
// it.
type ArmTruth struct {
	Arm, Role string
	Labels    uint64
	// Accuracy is over the shortest window, Overall since start; NaN
	// before any label.
	Accuracy, Overall float64
	// State is the performance state against the reference.
	State string
	// Verdict is a challenger's against live ("" for live), Difference
	// its accuracy gain over live, N the outcomes it judged.
	Verdict    string
	Difference float64
	N          uint64
}

// truth is the route's ground truth in a snapshot.
type truth struct {
	Arms []ArmTruth
	// Reference is the reference accuracy, NaN before it is known.
	Reference float64
	Window    string // the shortest window
}

// arm returns the named arm's row, or one with no labels.
func (t *truth) arm(name string) ArmTruth {
	for _, a := range t.Arms {
		if a.Arm == name {
			return a
		}
	}
	return ArmTruth{Arm: name, Accuracy: math.NaN(), Overall: math.NaN(), State: "insufficient_data"}
}

func (o *observer) pollTruth() (*truth, error) {
	body, err := o.get("/api/ground-truth")
	if err != nil {
		return nil, err
	}
	var v groundtruth.View
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("cannot read /api/ground-truth: %w", err)
	}
	t := &truth{Reference: math.NaN()}
	if len(v.Windows) > 0 {
		t.Window = v.Windows[0]
	}
	if len(v.Routes) == 0 {
		return t, nil
	}
	r := v.Routes[0]
	if r.Reference != nil {
		t.Reference = r.Reference.Value
	}
	for _, a := range r.Arms {
		at := ArmTruth{Arm: a.Arm, Role: a.Role, Labels: a.Labels, State: a.State, Accuracy: math.NaN(), Overall: math.NaN(), Difference: math.NaN()}
		// Before the first evaluation the figures are zeros, not absent.
		if len(a.Windows) > 0 && a.Windows[0].Labels > 0 {
			at.Accuracy = value(a.Windows[0].Accuracy)
		}
		if a.Outcome != nil && a.Labels > 0 {
			at.Overall = value(a.Outcome.Accuracy)
		}
		if vd := a.Verdict; vd != nil {
			at.Verdict, at.Difference, at.N = vd.Verdict, value(vd.Difference), vd.N
		}
		t.Arms = append(t.Arms, at)
	}
	return t, nil
}

// value is *p, or NaN for nil.
func value(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
