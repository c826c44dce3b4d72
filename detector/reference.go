package detector

import (
	"github.com/driftcar/driftcar/detector/stat"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// reference maps a sampler feature profile onto a detector reference and
// returns it with the number of cells the distribution tests compare.
//
// Numeric: the bins; below-min and above-max values stay apart as the
// out-of-range rate. Categorical: the dictionary and OTHER (the profile's
// UNSEEN cell is zero by construction and dropped); UNSEEN values count in
// the unseen rate and fold into OTHER for the distribution tests.
func reference(fp *sketch.FeatureProfile, rows uint64) (stat.Reference, int) {
	l := fp.Layout()
	r := stat.Reference{
		Numeric:     fp.Type == payload.Numeric.String(),
		M:           fp.Count,
		MissingRate: fp.MissingRate,
		OtherCell:   -1,
	}
	if rows > 0 {
		r.InvalidRate = float64(fp.Invalid) / float64(rows)
	}
	if r.Numeric {
		r.Proportions = fp.Proportions[:l.Values()]
		r.Edges = fp.Edges
		r.Min, r.Max, r.Mean, r.Std = fp.Min, fp.Max, fp.Mean, fp.Std
		return r, l.Values()
	}
	r.Proportions = fp.Proportions[:l.Other()+1]
	r.OtherCell = l.Other()
	r.UnseenRate = fp.UnseenRate
	return r, l.Other() + 1
}

// window maps sampler window counts of layout l onto a detector window
// whose distribution is the first cells cells, as reference returned them.
func window(c *sketch.Counts, l sketch.Layout, numeric bool, cells int, w *stat.Window) {
	w.Cells = c.Cells[:cells]
	if numeric {
		w.Below, w.Above, w.Unseen = c.Cells[l.BelowMin()], c.Cells[l.AboveMax()], 0
	} else {
		w.Below, w.Above, w.Unseen = 0, 0, c.Cells[l.Unseen()]
	}
	w.Missing, w.Invalid = c.Cells[l.Missing()], c.Cells[l.Invalid()]
}
