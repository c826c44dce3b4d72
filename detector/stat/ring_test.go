package stat

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// TestSliceRingMatchesSketchState feeds the calibration's SliceRing and the
// sampler's live State the same seeded rows of a numeric and a categorical
// feature, over more ticks than the ring holds, and checks that every window
// of every tick has the same counts in every cell. Rows arrive during a tick
// and windows are read just before the tick ends, as the simulation
// assumes.
func TestSliceRingMatchesSketchState(t *testing.T) {
	prof := ringProfile(t)
	const tau = 10 * time.Second
	o, err := Options{Every: tau, Slice: time.Minute, Windows: []time.Duration{5 * time.Minute, time.Hour}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	tps := o.TicksPerSlice()
	ks := []int{o.WindowSlices(0), o.WindowSlices(1)}
	start := time.Unix(0, 0).Add(1000 * o.Slice)
	for i := range ringSpecs {
		now := start
		st, err := sketch.NewState(prof, ringSpecs, nil, sketch.StateOptions{
			Slices: ks[1], SliceDuration: o.Slice, Now: func() time.Time { return now },
		})
		if err != nil {
			t.Fatal(err)
		}
		fp := &prof.Features[i]
		ref, values := ringReference(t, fp)
		stream, err := NewNullStream(ref)
		if err != nil {
			t.Fatal(err)
		}
		ring := NewSliceRing(len(ref.Proportions), ks)
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		var counts sketch.Counts
		var total uint64
		for tick := range ks[1]*tps + 3*tps + 2 {
			now = start.Add(time.Duration(tick) * tau)
			stream.Rows(rng, ring, rng.IntN(40))
			for cell, n := range ring.Tick() {
				for range n {
					st.ObserveValue(i, &values[cell])
				}
				total += n
			}
			ring.Flush()
			now = start.Add(time.Duration(tick+1)*tau - time.Nanosecond)
			for j, want := range ring.Windows() {
				st.WindowInto(&counts, i, ks[j])
				got := sketchWindow(&counts, ref.Numeric, len(ref.Proportions))
				if !slices.Equal(got.Cells, want.Cells) || got.Below != want.Below || got.Above != want.Above ||
					got.Unseen != want.Unseen || got.Missing != want.Missing || got.Invalid != want.Invalid {
					t.Fatalf("%s, tick %d, window of %d slices: sketch.State has %+v; SliceRing has %+v", fp.Name, tick, ks[j], got, want)
				}
			}
			if (tick+1)%tps == 0 {
				ring.Rotate()
			}
		}
		if total < 5000 {
			t.Fatalf("%s: only %d rows", fp.Name, total)
		}
		for j, w := range ring.Windows() {
			if w.Total() == 0 || w.Missing == 0 || w.Invalid == 0 || w.Below+w.Above+w.Unseen == 0 {
				t.Fatalf("%s: window %d does not exercise every kind of cell: %+v", fp.Name, j, w)
			}
		}
	}
}

var ringSpecs = []payload.FeatureSpec{{Name: "x", Type: payload.Numeric}, {Name: "c", Type: payload.Categorical}}

// ringProfile builds the reference of a N(0, 1) feature and a categorical
// feature of 20 values, 8 of which make the dictionary and the rest OTHER.
func ringProfile(t *testing.T) *sketch.Profile {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("x,c\n")
	rng := rand.New(rand.NewPCG(3, 3))
	for range 4000 {
		fmt.Fprintf(&b, "%.5f,c%d\n", rng.NormFloat64(), min(int(rng.ExpFloat64()*4), 19))
	}
	p, err := sketch.BuildReference(bytes.NewReader(b.Bytes()), sketch.CSV, ringSpecs, sketch.BuildOptions{Bins: 10, MaxCategories: 8})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ringReference maps a feature profile onto a Reference, as the detector
// does, with rates high enough to draw every extra cell, and returns a value
// that lands in each cell of the ring's tick buffer.
func ringReference(t *testing.T, fp *sketch.FeatureProfile) (Reference, []payload.Value) {
	t.Helper()
	ref := Reference{M: fp.Count, MissingRate: 0.05, InvalidRate: 0.05, OtherCell: -1}
	var values []payload.Value
	if fp.Type == payload.Numeric.String() {
		ref.Numeric, ref.Proportions, ref.Edges = true, fp.Proportions, fp.Edges
		ref.Min, ref.Max, ref.Std, ref.OutOfRangeRate = fp.Min, fp.Max, fp.Std, 0.1
		bounds := append(append([]float64{fp.Min}, fp.Edges...), fp.Max)
		for c := range len(fp.Proportions) {
			values = append(values, payload.Value{Kind: payload.ValueNumber, Num: (bounds[c] + bounds[c+1]) / 2})
		}
	} else {
		k := len(fp.Categories)
		ref.Proportions, ref.OtherCell, ref.UnseenRate = fp.Proportions[:k+1], k, 0.05
		other := "c19"
		for _, c := range fp.Categories {
			values = append(values, payload.Value{Kind: payload.ValueString, Str: []byte(c.Value)})
			if c.Value == other {
				t.Fatalf("%s is in the dictionary", other)
			}
		}
		values = append(values, payload.Value{Kind: payload.ValueString, Str: []byte(other)})
	}
	if ref.Proportions[len(ref.Proportions)-1] == 0 {
		t.Fatalf("%s: the last cell is empty", fp.Name)
	}
	extra := make([]payload.Value, NumExtra)
	extra[ExtraBelow] = payload.Value{Kind: payload.ValueNumber, Num: fp.Min - 1}
	extra[ExtraAbove] = payload.Value{Kind: payload.ValueNumber, Num: fp.Max + 1}
	extra[ExtraUnseen] = payload.Value{Kind: payload.ValueString, Str: []byte("never-" + strconv.Itoa(len(values)))}
	extra[ExtraMissing] = payload.Value{Kind: payload.ValueMissing}
	extra[ExtraInvalid] = payload.Value{Kind: payload.ValueInvalid}
	return ref, append(values, extra...)
}

// sketchWindow maps State counts onto a Window as the detector's monitor
// does: the cells, then below/other, above/unseen, missing and invalid.
func sketchWindow(c *sketch.Counts, numeric bool, cells int) Window {
	x := c.Cells[len(c.Cells)-4:]
	w := Window{Cells: c.Cells[:cells], Missing: x[2], Invalid: x[3]}
	if numeric {
		w.Below, w.Above = x[0], x[1]
	} else {
		w.Unseen = x[1]
	}
	return w
}
