package groundtruth

import (
	"math"
	"time"
)

// View is the monitor's state for /api/ground-truth and the web page.
type View struct {
	Label   string      `json:"label"`
	Windows []string    `json:"windows"`
	Routes  []RouteView `json:"routes"`
	// Evaluations counts the ticks.
	Evaluations uint64 `json:"evaluations"`
}

// RouteView is one route's performance.
type RouteView struct {
	Route string `json:"route"`
	// Reference is the reference performance the tests judge against.
	Reference *ReferenceView `json:"reference,omitempty"`
	// Untested says why the performance is not tested, when it is not.
	Untested string    `json:"untested,omitempty"`
	Arms     []ArmView `json:"arms"`
}

// ReferenceView is a route's reference performance.
type ReferenceView struct {
	From   string  `json:"from"` // profile | live
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
	Rows   uint64  `json:"rows"`
}

// ArmView is one arm's performance.
type ArmView struct {
	Arm  string `json:"arm"`
	Role string `json:"role"`
	// Labels counts the arm's labelled outcomes since start.
	Labels  uint64         `json:"labels"`
	Windows []WindowView   `json:"windows"`
	State   string         `json:"state"`
	Since   *time.Time     `json:"since,omitempty"`
	SLA     []string       `json:"sla_breached,omitempty"`
	Verdict *VerdictView   `json:"verdict,omitempty"`
	Outcome *OutcomeTotals `json:"totals,omitempty"`
}

// WindowView is one window's figures; absent ones are undefined.
type WindowView struct {
	Window    string   `json:"window"`
	Labels    uint64   `json:"labels"`
	Accuracy  *float64 `json:"accuracy,omitempty"`
	Precision *float64 `json:"precision,omitempty"`
	Recall    *float64 `json:"recall,omitempty"`
	F1        *float64 `json:"f1,omitempty"`
	LogLoss   *float64 `json:"log_loss,omitempty"`
	AUC       *float64 `json:"auc,omitempty"`
	AUCBound  *float64 `json:"auc_bound,omitempty"`
	MAE       *float64 `json:"mae,omitempty"`
	RMSE      *float64 `json:"rmse,omitempty"`
	MeanError *float64 `json:"mean_error,omitempty"`
	// PValue is the performance test's, against the reference.
	PValue *float64 `json:"pvalue,omitempty"`
}

// VerdictView is a challenger's verdict against the live arm.
type VerdictView struct {
	Verdict    string   `json:"verdict"`
	Paired     bool     `json:"paired"`
	Metric     string   `json:"metric"`
	Live       *float64 `json:"live,omitempty"`
	Challenger *float64 `json:"challenger,omitempty"`
	Difference *float64 `json:"difference,omitempty"`
	Lower      *float64 `json:"lower_bound,omitempty"`
	PValue     *float64 `json:"pvalue,omitempty"`
	N          uint64   `json:"n"`
	Window     string   `json:"window"`
}

// OutcomeTotals are the arm's figures since start.
type OutcomeTotals struct {
	Accuracy *float64 `json:"accuracy,omitempty"`
	MAE      *float64 `json:"mae,omitempty"`
}

// View returns the monitor's state as of its last tick.
func (m *Monitor) View() View {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := View{Label: m.spec.Kind.String(), Windows: m.names, Evaluations: m.evaluated}
	for _, r := range m.routes {
		rv := RouteView{Route: r.name, Untested: r.failed, Arms: []ArmView{}}
		if r.ref != nil {
			metric := "accuracy"
			if r.ref.Numeric {
				metric = "mae"
			}
			rv.Reference = &ReferenceView{From: r.refFrom, Metric: metric, Value: r.refValue, Rows: r.ref.M}
		} else if rv.Untested == "" {
			rv.Untested = "waiting for the reference performance: the profile has none and fewer labelled live rows have come than reference_rows"
		}
		for _, a := range r.arms {
			rv.Arms = append(rv.Arms, m.armView(r, a))
		}
		v.Routes = append(v.Routes, rv)
	}
	return v
}

func (m *Monitor) armView(r *routeMon, a *armMon) ArmView {
	av := ArmView{Arm: a.name, Role: a.role, Labels: a.total.N(), State: "insufficient_data"}
	if a.test != nil {
		av.State = a.test.State().String()
	}
	if !a.since.IsZero() {
		t := a.since
		av.Since = &t
	}
	for metric, breached := range a.sla {
		if breached {
			av.SLA = append(av.SLA, metric)
		}
	}
	for j, name := range m.names {
		mt := &a.metrics[j]
		w := WindowView{Window: name, Labels: mt.N,
			Accuracy: optional(mt.Accuracy), Precision: optional(mt.Precision), Recall: optional(mt.Recall), F1: optional(mt.F1),
			LogLoss: optional(mt.LogLoss), AUC: optional(mt.AUC), AUCBound: optional(mt.AUCBound),
			MAE: optional(mt.MAE), RMSE: optional(mt.RMSE), MeanError: optional(mt.MeanError)}
		if a.eval != nil && j < len(a.eval.Windows) {
			w.PValue = optional(a.eval.Windows[j].MinP)
		}
		av.Windows = append(av.Windows, w)
	}
	if a.hasVerdict {
		vr := &a.verdict
		av.Verdict = &VerdictView{Verdict: vr.Verdict.String(), Paired: a == r.shadow, Metric: vr.Metric,
			Live: optional(vr.Champion), Challenger: optional(vr.Challenger), Difference: optional(vr.Difference),
			Lower: optional(vr.Lower), PValue: optional(vr.PValue), N: vr.N, Window: m.names[len(m.names)-1]}
	}
	tm := a.total.Metrics()
	av.Outcome = &OutcomeTotals{Accuracy: optional(tm.Accuracy), MAE: optional(tm.MAE)}
	return av
}

// optional is x, or nil when it is not finite.
func optional(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}
