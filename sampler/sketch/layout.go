package sketch

// Layout names the cells of one feature in Counts.Cells, in the order of
// State.CellNames: first the value cells (the bins of a numeric feature,
// the dictionary of a categorical one), then four extra cells, below-min
// or other, above-max or unseen, missing and invalid. A FeatureProfile's
// Counts are the prefix of the same order: the bins, or the dictionary,
// other and unseen.
type Layout struct {
	values int
}

// Layout returns the cell layout of the feature.
func (fp *FeatureProfile) Layout() Layout {
	if fp.Type == "numeric" {
		return Layout{values: len(fp.Edges) + 1}
	}
	return Layout{values: len(fp.Categories)}
}

// Layout returns the cell layout of feature i.
func (s *State) Layout(i int) Layout { return s.feats[i].lay }

// Len returns the number of cells.
func (l Layout) Len() int { return l.values + 4 }

// Values returns the number of value cells: numeric bins, or categorical
// dictionary entries. Value cell j is cell j.
func (l Layout) Values() int { return l.values }

// BelowMin returns the cell of numeric values below the reference minimum.
func (l Layout) BelowMin() int { return l.values }

// AboveMax returns the cell of numeric values above the reference maximum.
func (l Layout) AboveMax() int { return l.values + 1 }

// Other returns the cell of categorical reference values outside the
// dictionary.
func (l Layout) Other() int { return l.values }

// Unseen returns the cell of categorical values not in the reference.
func (l Layout) Unseen() int { return l.values + 1 }

// Missing returns the cell of absent or null values.
func (l Layout) Missing() int { return l.values + 2 }

// Invalid returns the cell of values of the wrong type, NaN or ±Inf.
func (l Layout) Invalid() int { return l.values + 3 }
