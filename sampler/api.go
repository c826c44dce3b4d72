package sampler

import (
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// FeatureView is one feature of one route for /api/features: the
// reference and live distributions over the same cells.
type FeatureView struct {
	Name      string    `json:"name"`
	Type      string    `json:"type"`
	Cells     []string  `json:"cells"`
	Edges     []float64 `json:"edges,omitempty"`
	Reference []float64 `json:"reference"` // proportions per cell
	Windows   []Window  `json:"windows"`
}

// Window is the live counts over the last Slices time slices.
type Window struct {
	Slices   int      `json:"slices"`
	N        uint64   `json:"n"`
	Counts   []uint64 `json:"counts"`
	Mean     float64  `json:"mean,omitempty"`
	Distinct uint64   `json:"distinct,omitempty"`
}

// RouteView is /api/features for one route.
type RouteView struct {
	Route    string        `json:"route"`
	Learning bool          `json:"learning"`
	Rows     uint64        `json:"rows"`
	Features []FeatureView `json:"features"`
}

// Views returns every sampling route with windows of the given slice
// counts.
func (s *Set) Views(windows ...int) []RouteView {
	out := []RouteView{}
	for _, route := range s.order {
		t := s.taps[route]
		rv := RouteView{Route: route, Rows: t.counts.rows.Load(), Features: []FeatureView{}}
		st := t.State()
		if st == nil {
			rv.Learning = true
			out = append(out, rv)
			continue
		}
		n := st.NumFeatures()
		if s.model.Prediction != nil {
			n++
		}
		for i := range n {
			rv.Features = append(rv.Features, view(st, i, windows))
		}
		out = append(out, rv)
	}
	return out
}

func view(st *sketch.State, i int, windows []int) FeatureView {
	ref := st.Reference(i)
	cells := st.CellNames(i)
	fv := FeatureView{Name: ref.Name, Type: ref.Type, Cells: cells, Edges: ref.Edges}
	if i >= st.NumFeatures() {
		fv.Name = PredictionFeature
	}
	fv.Reference = make([]float64, len(cells))
	copy(fv.Reference, ref.Proportions)
	for _, k := range windows {
		c := st.Window(i, k)
		w := Window{Slices: c.Slices, N: c.N, Counts: c.Cells, Distinct: c.Distinct}
		if c.Valid > 0 && ref.Type == payload.Numeric.String() {
			w.Mean = c.Sum / float64(c.Valid)
		}
		fv.Windows = append(fv.Windows, w)
	}
	return fv
}
