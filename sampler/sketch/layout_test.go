package sketch

import (
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/payload"
)

// TestLayout checks that each named cell of Layout is the cell CellNames
// gives that name and the cell Observe counts such values in.
func TestLayout(t *testing.T) {
	p := smallProfile(t)
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	specs := []payload.FeatureSpec{{Name: "x", Type: payload.Numeric}, {Name: "c", Type: payload.Categorical}}
	st, err := NewState(p, specs, nil, StateOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"x", "c"} {
		if got, want := st.Layout(i), p.Feature(name).Layout(); got != want {
			t.Errorf("%s: State.Layout %+v; FeatureProfile.Layout %+v", name, got, want)
		}
	}

	x := st.Layout(0)
	if x.Values() != 4 || x.Len() != 8 {
		t.Fatalf("x: %d values, %d cells; want 4, 8", x.Values(), x.Len())
	}
	c := st.Layout(1)
	if c.Values() != 2 || c.Len() != 6 {
		t.Fatalf("c: %d values, %d cells; want 2, 6", c.Values(), c.Len())
	}
	for _, tc := range []struct {
		feature int
		cell    int
		name    string
		v       payload.Value
	}{
		{0, x.BelowMin(), "__below_min__", num(-1)},
		{0, x.AboveMax(), "__above_max__", num(9)},
		{0, x.Missing(), CellMissing, missing()},
		{0, x.Invalid(), CellInvalid, invalid(payload.ReasonNaNInf)},
		{1, c.Other(), CellOther, str("z")},
		{1, c.Unseen(), CellUnseen, str("new")},
		{1, c.Missing(), CellMissing, missing()},
		{1, c.Invalid(), CellInvalid, invalid(payload.ReasonWrongType)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			names := st.CellNames(tc.feature)
			if len(names) != st.Layout(tc.feature).Len() {
				t.Fatalf("got %d names; want Len %d", len(names), st.Layout(tc.feature).Len())
			}
			if names[tc.cell] != tc.name {
				t.Fatalf("cell %d: got name %q; want %q", tc.cell, names[tc.cell], tc.name)
			}
			before := st.Window(tc.feature, 1).Cells[tc.cell]
			v := tc.v
			st.ObserveValue(tc.feature, &v)
			w := st.Window(tc.feature, 1)
			if got := w.Cells[tc.cell]; got != before+1 {
				t.Fatalf("cell %d after one value: got %d; want %d (cells %v)", tc.cell, got, before+1, w.Cells)
			}
		})
	}
}
