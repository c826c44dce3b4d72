package demo

import (
	"math"
	"sort"
)

// model is a logistic regression over standardized numeric features and
// one-hot categorical ones.
type model struct {
	mean, std [3]float64
	w         []float64 // 3 numeric + countries + channels
	b         float64
}

func (m *model) features(a applicant, x []float64) []float64 {
	x = x[:0]
	for i, v := range [3]float64{a.Age, math.Log(a.Income), a.DebtRatio} {
		x = append(x, (v-m.mean[i])/m.std[i])
	}
	for _, c := range countries {
		x = append(x, b2f(a.Country == c))
	}
	for _, c := range channels {
		x = append(x, b2f(a.Channel == c))
	}
	return x
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// approve is the model's probability of class 1 (approve).
func (m *model) approve(a applicant) float64 {
	var buf [16]float64
	x := m.features(a, buf[:0])
	z := m.b
	for i, v := range x {
		z += m.w[i] * v
	}
	return 1 / (1 + math.Exp(-z))
}

// train fits a logistic regression by full-batch gradient descent with L2
// penalty lambda.
func train(rows []applicant, labels []float64, lambda float64, iters int) *model {
	m := &model{}
	for i := range 3 {
		var s, ss float64
		for _, a := range rows {
			v := [3]float64{a.Age, math.Log(a.Income), a.DebtRatio}[i]
			s += v
			ss += v * v
		}
		n := float64(len(rows))
		m.mean[i] = s / n
		m.std[i] = math.Sqrt(math.Max(ss/n-m.mean[i]*m.mean[i], 1e-12))
	}
	dim := 3 + len(countries) + len(channels)
	m.w = make([]float64, dim)
	xs := make([][]float64, len(rows))
	for i, a := range rows {
		xs[i] = m.features(a, make([]float64, 0, dim))
	}
	grad := make([]float64, dim)
	const lr = 0.5
	for range iters {
		clear(grad)
		var gb float64
		for i, x := range xs {
			z := m.b
			for j, v := range x {
				z += m.w[j] * v
			}
			e := 1/(1+math.Exp(-z)) - labels[i]
			for j, v := range x {
				grad[j] += e * v
			}
			gb += e
		}
		n := float64(len(xs))
		for j := range m.w {
			m.w[j] -= lr * (grad[j]/n + lambda*m.w[j])
		}
		m.b -= lr * gb / n
	}
	return m
}

// withDisagreement returns a copy of m whose decisions (p >= 0.5) differ
// from m's on about share of rows: its intercept is moved until they do.
func (m *model) withDisagreement(rows []applicant, share float64) *model {
	logits := make([]float64, len(rows))
	for i, a := range rows {
		p := m.approve(a)
		logits[i] = math.Log(p / (1 - p))
	}
	// Moving the intercept by -d flips exactly the approved rows with
	// logit in [0, d): pick d as the share-quantile of positive logits.
	var pos []float64
	for _, l := range logits {
		if l >= 0 {
			pos = append(pos, l)
		}
	}
	sort.Float64s(pos)
	k := int(share * float64(len(rows)))
	d := 0.0
	if k > 0 && k <= len(pos) {
		d = pos[k-1] + 1e-9
	}
	c := *m
	c.w = append([]float64(nil), m.w...)
	c.b = m.b - d
	return &c
}
