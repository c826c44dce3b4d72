package perf

import "math"

// Metrics are the performance figures of a set of outcomes. A figure is NaN
// where it is undefined: no data, no positives, or the wrong kind.
type Metrics struct {
	N       uint64
	Invalid uint64
	// Accuracy is the share of right predictions. Precision, Recall and F1
	// are those of class 1 for Binary and macro averages for Categorical:
	// the mean over the classes that occur as actual or predicted, a class
	// never predicted having precision 0 (scikit-learn's zero_division=0).
	Accuracy, Precision, Recall, F1 float64
	// Scored is the number of Binary outcomes with a score in [0, 1].
	Scored uint64
	// LogLoss is the mean Binary log loss over the scored outcomes, scores
	// clipped to [1e-15, 1−1e-15] as scikit-learn does.
	LogLoss float64
	// AUC is the ROC AUC from the score bins, ties within a bin counted as
	// ½; AUCBound bounds |AUC − exact AUC| on the same data by
	// Σ_b pos_b·neg_b / (2·P·N).
	AUC, AUCBound float64
	// MAE, RMSE and MeanError = mean(predicted − actual) are Numeric.
	MAE, RMSE, MeanError float64
	// Confusion is [actual][predicted]; Categorical includes "other" last.
	Confusion [][]uint64
}

// Metrics computes c's metrics. It allocates the Confusion matrix.
func (c *Counts) Metrics() Metrics {
	nan := math.NaN()
	m := Metrics{N: c.n, Invalid: c.invalid,
		Accuracy: nan, Precision: nan, Recall: nan, F1: nan,
		LogLoss: nan, AUC: nan, AUCBound: nan, MAE: nan, RMSE: nan, MeanError: nan}
	if c.classes > 0 {
		m.Confusion = make([][]uint64, c.classes)
		for a := range m.Confusion {
			m.Confusion[a] = append([]uint64(nil), c.confusion[a*c.classes:(a+1)*c.classes]...)
		}
	}
	if c.n == 0 {
		return m
	}
	n := float64(c.n)
	switch c.kind {
	case Numeric:
		m.MAE, m.RMSE, m.MeanError = c.sumAbs/n, math.Sqrt(c.sumSq/n), c.sumErr/n
		return m
	case Binary:
		tp, fp, fn := c.confusion[3], c.confusion[1], c.confusion[2]
		m.Precision, m.Recall, m.F1 = ratio(tp, tp+fp), ratio(tp, tp+fn), ratio(2*tp, 2*tp+fp+fn)
		c.binaryScores(&m)
	case Categorical:
		c.macro(&m)
	}
	m.Accuracy = float64(c.n-c.Errors()) / n
	return m
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// macro fills the macro-averaged precision, recall and F1.
func (c *Counts) macro(m *Metrics) {
	var sp, sr, sf float64
	present := 0
	for k := range c.classes {
		tp := c.confusion[k*c.classes+k]
		var actual, predicted uint64
		for j := range c.classes {
			actual += c.confusion[k*c.classes+j]
			predicted += c.confusion[j*c.classes+k]
		}
		if actual == 0 && predicted == 0 {
			continue
		}
		present++
		sp += zeroNaN(ratio(tp, predicted))
		sr += zeroNaN(ratio(tp, actual))
		sf += zeroNaN(ratio(2*tp, actual+predicted))
	}
	p := float64(present)
	m.Precision, m.Recall, m.F1 = sp/p, sr/p, sf/p
}

func zeroNaN(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return x
}

// binaryScores fills log loss, the binned AUC and its bound.
func (c *Counts) binaryScores(m *Metrics) {
	var pos, neg, below, wins, ties float64
	var scored uint64
	for b := range c.pos {
		scored += c.pos[b] + c.neg[b]
		p, q := float64(c.pos[b]), float64(c.neg[b])
		wins += p * below
		ties += p * q
		pos += p
		neg += q
		below += q
	}
	m.Scored = scored
	if scored > 0 {
		m.LogLoss = c.logLoss / (pos + neg)
	}
	if pos > 0 && neg > 0 {
		m.AUC = (wins + ties/2) / (pos * neg)
		m.AUCBound = ties / (2 * pos * neg)
	}
}
