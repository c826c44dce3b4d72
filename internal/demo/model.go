package demo

import "math"

// model is a logistic regression over standardized numeric features and
// one-hot categorical ones.
type model struct {
	mean, std [3]float64
	w         []float64 // 3 numeric + countries + channels
	b         float64
	// flip is the share of applicants answered 1−p (see withFlips).
	flip float64
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
	p := 1 / (1 + math.Exp(-z))
	if m.flip > 0 && flipped(a, m.flip) {
		return 1 - p
	}
	return p
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

// withFlips returns a copy of m that answers 1−p instead of p on a
// share of applicants chosen by flipped: its decisions differ from m's on
// that share of any traffic, and it is less accurate by about
// share·(2·accuracy−1).
func (m *model) withFlips(share float64) *model {
	c := *m
	c.w = append([]float64(nil), m.w...)
	c.flip = share
	return &c
}

// flipped reports whether a is among the share of applicants a flipping
// model answers wrongly: an FNV-1a hash of a's fields at the precision
// the requests carry them (whole years, tens of income, debt ratio to
// 1/1000, exact in JSON and in FP32 alike), read as a uniform in [0, 1).
func flipped(a applicant, share float64) bool {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for _, v := range [3]uint64{uint64(math.Round(a.Age)), uint64(math.Round(a.Income)), uint64(math.Round(a.DebtRatio * 1000))} {
		for range 8 {
			h = (h ^ (v & 0xff)) * prime
			v >>= 8
		}
	}
	for _, s := range [2]string{a.Country, a.Channel} {
		for i := range len(s) {
			h = (h ^ uint64(s[i])) * prime
		}
		h = (h ^ 0xff) * prime
	}
	return float64(h>>11)/(1<<53) < share
}
