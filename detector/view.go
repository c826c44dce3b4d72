package detector

import (
	"math"
	"time"

	"github.com/driftcar/driftcar/detector/guard"
	"github.com/driftcar/driftcar/detector/stat"
)

// FeatureView is the current drift state of one feature.
type FeatureView struct {
	Name    string       `json:"name"`
	State   string       `json:"state"`
	Since   *time.Time   `json:"since,omitempty"`
	Windows []WindowView `json:"windows"`
}

// WindowView is the tests of one window.
type WindowView struct {
	Window string              `json:"window"`
	N      uint64              `json:"n"`
	Tested bool                `json:"tested"`
	Tests  map[string]TestView `json:"tests"`
}

// TestView is one test of one window. Absent numbers are not defined.
type TestView struct {
	Statistic float64  `json:"statistic"`
	Threshold *float64 `json:"threshold,omitempty"`
	PValue    *float64 `json:"pvalue,omitempty"`
	Breach    bool     `json:"breach"`
}

// RouteView is the drift state of one route.
type RouteView struct {
	Route    string        `json:"route"`
	Ready    bool          `json:"ready"` // false while the reference is learned
	Dataset  *DatasetView  `json:"dataset,omitempty"`
	Features []FeatureView `json:"features"`
	Untested []string      `json:"untested,omitempty"`
}

// DatasetView is the dataset-level result of a route.
type DatasetView struct {
	State      string  `json:"state"`
	Drifted    int     `json:"drifted"`
	Features   int     `json:"features"`
	Share      float64 `json:"share"`
	Correction string  `json:"correction"`
}

// View is /api/drift: the current states and the recent changes, newest
// first.
type View struct {
	Routes  []RouteView  `json:"routes"`
	History []Change     `json:"history"`
	Canary  []guard.View `json:"canary,omitempty"`
}

// View returns the current state.
func (m *Monitor) View() View {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := View{Routes: []RouteView{}, History: m.changes()}
	for _, r := range m.routes {
		rv := RouteView{Route: r.route, Ready: r.st != nil, Features: []FeatureView{}, Untested: r.skipped}
		for _, f := range r.features {
			rv.Features = append(rv.Features, m.featureView(f))
		}
		if r.last != nil {
			rv.Dataset = &DatasetView{
				State: r.last.State.String(), Drifted: r.last.Drifted, Features: r.last.Features,
				Share: r.last.Share, Correction: m.opts.Correction.String(),
			}
		}
		v.Routes = append(v.Routes, rv)
	}
	if g := m.guard.Load(); g != nil {
		v.Canary = g.View()
	}
	return v
}

func (m *Monitor) changes() []Change {
	n := m.next
	if m.full {
		n = len(m.history)
	}
	out := make([]Change, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, m.history[(m.next-i+len(m.history))%len(m.history)])
	}
	return out
}

func (m *Monitor) featureView(f *featureMon) FeatureView {
	fv := FeatureView{Name: f.name, State: f.det.State().String(), Windows: []WindowView{}}
	if !f.since.IsZero() {
		since := f.since
		fv.Since = &since
	}
	if f.eval == nil {
		return fv
	}
	for j, w := range f.eval.Windows {
		wv := WindowView{Window: m.windowName(j), N: w.N, Tested: w.Tested, Tests: map[string]TestView{}}
		for t := range stat.NumTests {
			s := w.Stats[t]
			if math.IsNaN(s.Value) {
				continue
			}
			wv.Tests[t.String()] = TestView{Statistic: s.Value, Threshold: optional(s.Threshold), PValue: optional(s.PValue), Breach: s.Breach}
		}
		fv.Windows = append(fv.Windows, wv)
	}
	return fv
}

func optional(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}
