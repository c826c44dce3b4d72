package sketch

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/payload"
)

// benchSpecs are 15 numeric and 5 categorical features, f0..f14 and
// c0..c4, and a numeric prediction.
func benchSpecs() ([]payload.FeatureSpec, *payload.PredictionSpec) {
	var specs []payload.FeatureSpec
	for i := 0; i < 15; i++ {
		specs = append(specs, payload.FeatureSpec{Name: fmt.Sprintf("f%d", i), Type: payload.Numeric})
	}
	for i := 0; i < 5; i++ {
		specs = append(specs, payload.FeatureSpec{Name: fmt.Sprintf("c%d", i), Type: payload.Categorical})
	}
	return specs, &payload.PredictionSpec{Name: "prediction", Type: payload.Numeric}
}

var benchCats = []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}

// syntheticCSV returns a deterministic CSV for benchSpecs.
func syntheticCSV(rows int, seed uint64) []byte {
	specs, pred := benchSpecs()
	rng := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	for i, s := range specs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s.Name)
	}
	b.WriteString("," + pred.Name + "\n")
	for r := 0; r < rows; r++ {
		for i := 0; i < 15; i++ {
			fmt.Fprintf(&b, "%.4f,", rng.NormFloat64()*float64(i+1)+float64(10*i))
		}
		for i := 0; i < 5; i++ {
			fmt.Fprintf(&b, "%s,", benchCats[int(rng.ExpFloat64()*2)%len(benchCats)])
		}
		fmt.Fprintf(&b, "%.4f\n", rng.Float64())
	}
	return b.Bytes()
}

func benchProfile(t testing.TB) *Profile {
	t.Helper()
	specs, pred := benchSpecs()
	p, err := BuildReference(bytes.NewReader(syntheticCSV(5000, 7)), CSV, specs, BuildOptions{Prediction: pred})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// benchRequest returns a one-row v1 request for benchSpecs.
func benchRequest(rng *rand.Rand) []byte {
	var b strings.Builder
	b.WriteString(`{"instances": [{`)
	for i := 0; i < 15; i++ {
		fmt.Fprintf(&b, `"f%d": %.4f, `, i, rng.NormFloat64()*float64(i+1)+float64(10*i))
	}
	for i := 0; i < 5; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"c%d": "%s"`, i, benchCats[int(rng.ExpFloat64()*2)%len(benchCats)])
	}
	b.WriteString(`}]}`)
	return []byte(b.String())
}

// fakeClock is a settable clock for tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time      { return c.t }
func (c *fakeClock) Add(d time.Duration) { c.t = c.t.Add(d) }

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
