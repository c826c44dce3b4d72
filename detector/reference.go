package detector

import (
	"github.com/driftcar/driftcar/detector/stat"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// reference maps a sampler feature profile onto a detector reference.
//
// Numeric: the B bins; below-min and above-max values stay apart as the
// out-of-range rate. Categorical: the dictionary and OTHER (the profile's
// trailing UNSEEN cell is zero by construction and dropped); UNSEEN values
// count in the unseen rate and fold into OTHER for the distribution tests.
func reference(fp *sketch.FeatureProfile, rows uint64) (stat.Reference, int) {
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
		r.Proportions = fp.Proportions
		r.Edges = fp.Edges
		r.Min, r.Max, r.Mean, r.Std = fp.Min, fp.Max, fp.Mean, fp.Std
		return r, len(fp.Proportions)
	}
	k := len(fp.Categories)
	r.Proportions = fp.Proportions[:k+1]
	r.OtherCell = k
	r.UnseenRate = fp.UnseenRate
	return r, k + 1
}

// window maps sampler window counts onto a detector window of cells cells;
// the four cells after them are, for both types, below/other-or-unseen,
// above/unseen, missing and invalid as the sampler orders them.
func window(c *sketch.Counts, numeric bool, cells int, w *stat.Window) {
	extra := c.Cells[len(c.Cells)-4:]
	if numeric {
		w.Cells = c.Cells[:cells]
		w.Below, w.Above, w.Unseen = extra[0], extra[1], 0
	} else {
		// Sampler categorical cells: dictionary, other, unseen, missing,
		// invalid; the detector's cells are the dictionary and other.
		w.Cells = c.Cells[:cells]
		w.Below, w.Above, w.Unseen = 0, 0, extra[1]
	}
	w.Missing, w.Invalid = extra[2], extra[3]
}
