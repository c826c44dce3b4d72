package perf

import "math"

// PairCounts are the paired outcomes of a champion and a challenger on the
// same requests. The zero value is empty and ready; it does not allocate.
type PairCounts struct {
	// N is the number of pairs counted (Invalid ones excluded).
	N uint64
	// Both is, for classification, the pairs both arms got right; B the
	// champion right and the challenger wrong; C the champion wrong and the
	// challenger right.
	Both, B, C uint64
	// SumD and SumD2 are, for Numeric, Σd and Σd² with
	// d = |e_champion| − |e_challenger| (positive: the challenger is better).
	SumD, SumD2 float64
	// ChampionAbs and ChallengerAbs are, for Numeric, each arm's Σ|e|.
	ChampionAbs, ChallengerAbs float64
	// Invalid counts pairs where either outcome could not be placed.
	Invalid uint64
}

// Add counts one pair; the label is champion.Actual for both.
func (p *PairCounts) Add(s *Spec, champion, challenger Outcome) {
	challenger.Actual = champion.Actual
	if s.Kind.classification() {
		classes := 2
		if s.Kind == Categorical {
			classes = len(s.Classes) + 1
		}
		a, okA := classIndex(champion.Actual, classes)
		x, okX := classIndex(champion.Predicted, classes)
		y, okY := classIndex(challenger.Predicted, classes)
		if !okA || !okX || !okY {
			p.Invalid++
			return
		}
		p.N++
		switch rx, ry := x == a, y == a; {
		case rx && ry:
			p.Both++
		case rx:
			p.B++
		case ry:
			p.C++
		}
		return
	}
	e1 := math.Abs(champion.Predicted - champion.Actual)
	e2 := math.Abs(challenger.Predicted - challenger.Actual)
	d := e1 - e2
	if math.IsNaN(d) || math.IsInf(d, 0) {
		p.Invalid++
		return
	}
	p.N++
	p.SumD += d
	p.SumD2 += d * d
	p.ChampionAbs += e1
	p.ChallengerAbs += e2
}

// Merge adds o into p.
func (p *PairCounts) Merge(o *PairCounts) {
	p.N += o.N
	p.Both += o.Both
	p.B += o.B
	p.C += o.C
	p.SumD += o.SumD
	p.SumD2 += o.SumD2
	p.ChampionAbs += o.ChampionAbs
	p.ChallengerAbs += o.ChallengerAbs
	p.Invalid += o.Invalid
}

// Reset empties p.
func (p *PairCounts) Reset() { *p = PairCounts{} }
