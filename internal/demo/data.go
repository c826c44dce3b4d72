package demo

import (
	"math"
	"math/rand/v2"
)

// applicant is one row of the synthetic credit data.
type applicant struct {
	Age       float64
	Income    float64
	DebtRatio float64
	Country   string
	Channel   string
}

var (
	countries      = []string{"DE", "FR", "US", "IT", "ES"}
	countryWeights = []float64{0.30, 0.25, 0.20, 0.15, 0.10}
	channels       = []string{"web", "app", "branch"}
	channelWeights = []float64{0.5, 0.35, 0.15}
)

// drift describes the injected change: a mean shift of age and a new
// country that the reference never saw (the data), and a changed concept
// (the outcomes): the new country's applicants repay more and age counts
// more, so the live model's decisions are wrong more often.
type drift struct {
	AgeShift      float64 // years added to age
	NewCountry    string
	NewCountryPct float64
	// NewCountryLogit is added to the label's logit in the new country;
	// AgeSlope to its slope per year of age.
	NewCountryLogit float64
	AgeSlope        float64
}

// injected is the demo's drift.
var injected = drift{AgeShift: 12, NewCountry: "BR", NewCountryPct: 0.2, NewCountryLogit: 3, AgeSlope: 0.035}

// generator draws applicants; it is owned by one goroutine.
type generator struct {
	rng *rand.Rand
}

func newGenerator(seed uint64) *generator {
	return &generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *generator) pick(values []string, weights []float64) string {
	u := g.rng.Float64()
	for i, w := range weights {
		if u < w {
			return values[i]
		}
		u -= w
	}
	return values[len(values)-1]
}

// next draws one applicant; d, when set, applies the drift.
func (g *generator) next(d *drift) applicant {
	a := applicant{
		Age:       math.Round(math.Max(18, math.Min(90, 41+12*g.rng.NormFloat64()))),
		Income:    math.Round(math.Exp(10.8+0.45*g.rng.NormFloat64())/10) * 10,
		DebtRatio: math.Round(math.Min(0.99, math.Max(0, 0.32+0.14*g.rng.NormFloat64()))*1000) / 1000,
		Country:   g.pick(countries, countryWeights),
		Channel:   g.pick(channels, channelWeights),
	}
	if d != nil {
		a.Age = math.Min(95, a.Age+d.AgeShift)
		if g.rng.Float64() < d.NewCountryPct {
			a.Country = d.NewCountry
		}
	}
	return a
}

// label is the ground truth: a noisy logistic function of the features;
// d, when set, applies its concept change.
func (g *generator) label(a applicant, d *drift) float64 {
	slope := 0.035
	if d != nil {
		slope += d.AgeSlope
	}
	z := -1.2 + slope*(a.Age-41) + 0.9*math.Log(a.Income/49000) - 4.5*(a.DebtRatio-0.32)
	if d != nil && a.Country == d.NewCountry {
		z += d.NewCountryLogit
	}
	if a.Country == "US" {
		z += 0.4
	}
	if a.Channel == "branch" {
		z += 0.3
	}
	if g.rng.Float64() < 1/(1+math.Exp(-z)) {
		return 1
	}
	return 0
}

// labelled draws n undrifted applicants and their outcomes.
func (g *generator) labelled(n int) ([]applicant, []float64) {
	rows, labels := make([]applicant, n), make([]float64, n)
	for i := range rows {
		rows[i] = g.next(nil)
		labels[i] = g.label(rows[i], nil)
	}
	return rows, labels
}
