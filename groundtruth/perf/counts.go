package perf

import (
	"fmt"
	"math"
	"unsafe"
)

// Log loss clips scores to [logLossEps, 1 − logLossEps], as scikit-learn.
const logLossEps = 1e-15

// Counts are the exact, additive counts of a set of outcomes for one Spec:
// the confusion matrix, and for Binary the positive and negative counts per
// score bin and the log-loss sum; for Numeric the sums of |e|, e² and e with
// e = predicted − actual. It is fixed size once built; Add does not
// allocate. Build it with NewCounts from a Spec that passed WithDefaults.
type Counts struct {
	kind      Kind
	classes   int // side of the confusion matrix: 2, len(Classes)+1, or 0
	n         uint64
	invalid   uint64
	confusion []uint64 // [actual*classes + predicted]
	pos, neg  []uint64 // binary: per score bin
	logLoss   float64
	posScores float64 // binary: Σ scores of actual positives, and negatives
	negScores float64
	sumAbs    float64
	sumSq     float64
	sumErr    float64
}

// NewCounts returns empty Counts shaped for s.
func NewCounts(s *Spec) *Counts {
	c := &Counts{kind: s.Kind}
	switch s.Kind {
	case Binary:
		c.classes = 2
		c.pos = make([]uint64, s.ScoreBins)
		c.neg = make([]uint64, s.ScoreBins)
	case Categorical:
		c.classes = len(s.Classes) + 1
	}
	c.confusion = make([]uint64, c.classes*c.classes)
	return c
}

// Add counts one outcome. An outcome it cannot place (a class index out of
// range or not an integer, a Binary value other than 0 or 1, a non-finite
// number) is counted by Invalid and nothing else. A Binary score outside
// [0, 1] or NaN counts as no score.
func (c *Counts) Add(o Outcome) {
	if !c.kind.classification() {
		e := o.Predicted - o.Actual
		if math.IsNaN(e) || math.IsInf(e, 0) {
			c.invalid++
			return
		}
		c.n++
		c.sumAbs += math.Abs(e)
		c.sumSq += e * e
		c.sumErr += e
		return
	}
	a, okA := classIndex(o.Actual, c.classes)
	p, okP := classIndex(o.Predicted, c.classes)
	if !okA || !okP {
		c.invalid++
		return
	}
	c.n++
	c.confusion[a*c.classes+p]++
	if c.kind != Binary || !(o.Score >= 0 && o.Score <= 1) {
		return
	}
	b := min(int(o.Score*float64(len(c.pos))), len(c.pos)-1)
	q := min(max(o.Score, logLossEps), 1-logLossEps)
	if a == 1 {
		c.pos[b]++
		c.posScores += o.Score
		c.logLoss -= math.Log(q)
	} else {
		c.neg[b]++
		c.negScores += o.Score
		c.logLoss -= math.Log1p(-q)
	}
}

// classIndex reads x as an integer index in [0, n).
func classIndex(x float64, n int) (int, bool) {
	if !(x >= 0 && x < float64(n)) || x != math.Trunc(x) {
		return 0, false
	}
	return int(x), true
}

// Merge adds o's counts into c. Both must come from the same Spec; Merge
// panics when their shapes differ.
func (c *Counts) Merge(o *Counts) {
	if c.kind != o.kind || len(c.confusion) != len(o.confusion) || len(c.pos) != len(o.pos) {
		panic(fmt.Sprintf("perf: cannot merge counts of %v/%d/%d into %v/%d/%d",
			o.kind, o.classes, len(o.pos), c.kind, c.classes, len(c.pos)))
	}
	c.n += o.n
	c.invalid += o.invalid
	addTo(c.confusion, o.confusion)
	addTo(c.pos, o.pos)
	addTo(c.neg, o.neg)
	c.logLoss += o.logLoss
	c.posScores += o.posScores
	c.negScores += o.negScores
	c.sumAbs += o.sumAbs
	c.sumSq += o.sumSq
	c.sumErr += o.sumErr
}

func addTo(dst, src []uint64) {
	for i, v := range src {
		dst[i] += v
	}
}

// Reset empties c, keeping its shape.
func (c *Counts) Reset() {
	c.n, c.invalid = 0, 0
	clear(c.confusion)
	clear(c.pos)
	clear(c.neg)
	c.logLoss, c.sumAbs, c.sumSq, c.sumErr = 0, 0, 0, 0
	c.posScores, c.negScores = 0, 0
}

// ScoreSums are, for Binary, the sums of the scores of the actual
// positives and of the actual negatives.
func (c *Counts) ScoreSums() (pos, neg float64) { return c.posScores, c.negScores }

// N is the number of outcomes counted (Invalid ones excluded).
func (c *Counts) N() uint64 { return c.n }

// Invalid is the number of outcomes Add could not place.
func (c *Counts) Invalid() uint64 { return c.invalid }

// Errors is, for classification, the number of wrong predictions; it is 0
// for Numeric.
func (c *Counts) Errors() uint64 {
	if c.classes == 0 {
		return 0
	}
	var right uint64
	for i := range c.classes {
		right += c.confusion[i*c.classes+i]
	}
	return c.n - right
}

// Kind is the kind of the Spec c was built for.
func (c *Counts) Kind() Kind { return c.kind }

// Classes is the side of the confusion matrix: 2 for Binary, len(Classes)+1
// for Categorical (the last being "other"), 0 for Numeric.
func (c *Counts) Classes() int { return c.classes }

// Confusion is the count of outcomes with the given actual and predicted
// class indexes; 0 out of range.
func (c *Counts) Confusion(actual, predicted int) uint64 {
	if actual < 0 || predicted < 0 || actual >= c.classes || predicted >= c.classes {
		return 0
	}
	return c.confusion[actual*c.classes+predicted]
}

// ScoreBins is the number of Binary score bins (0 otherwise).
func (c *Counts) ScoreBins() int { return len(c.pos) }

// Bin is the number of positive and negative outcomes whose score fell in
// bin b, [b/B, (b+1)/B) (the last bin includes 1).
func (c *Counts) Bin(b int) (pos, neg uint64) {
	if b < 0 || b >= len(c.pos) {
		return 0, 0
	}
	return c.pos[b], c.neg[b]
}

// ErrorSums are, for Numeric, Σ|e|, Σe² and Σe with e = predicted − actual.
func (c *Counts) ErrorSums() (sumAbs, sumSq, sum float64) { return c.sumAbs, c.sumSq, c.sumErr }

// Bytes is the memory c holds, for sizing rings.
func (c *Counts) Bytes() int {
	return 8*(len(c.confusion)+len(c.pos)+len(c.neg)) + int(unsafe.Sizeof(*c))
}
