package sketch_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// Example builds a reference from CSV, decodes a KServe v1 request with
// its response, and reads the live counts of the current minute.
func Example() {
	specs := []payload.FeatureSpec{
		{Name: "age", Type: payload.Numeric},
		{Name: "country", Type: payload.Categorical},
	}
	pred := &payload.PredictionSpec{Type: payload.Numeric}
	train := "age,country,prediction\n" +
		"20,fr,0.1\n30,fr,0.2\n40,de,0.3\n50,de,0.4\n60,us,0.5\n"
	profile, err := sketch.BuildReference(strings.NewReader(train), sketch.CSV, specs,
		sketch.BuildOptions{Bins: 4, Prediction: pred})
	if err != nil {
		panic(err)
	}
	fmt.Println("age edges:", profile.Feature("age").Edges)

	dec, err := payload.NewDecoder(payload.KServeV1, specs, pred, payload.DecoderOptions{})
	if err != nil {
		panic(err)
	}
	clock := func() time.Time { return time.Date(2026, 1, 1, 12, 0, 30, 0, time.UTC) }
	state, err := sketch.NewState(profile, specs, pred, sketch.StateOptions{Now: clock})
	if err != nil {
		panic(err)
	}
	batch, err := dec.Decode(
		[]byte(`{"instances": [{"age": 25, "country": "fr"}, {"age": 70, "country": "jp"}, {"country": "de"}]}`),
		[]byte(`{"predictions": [0.3, 0.9, 0.2]}`))
	if err != nil {
		panic(err)
	}
	state.Observe(batch)

	age := state.Window(0, 1)
	fmt.Println("age cells:", state.CellNames(0))
	fmt.Println("age counts:", age.Cells, "n:", age.N, "sum:", age.Sum)
	country := state.Window(1, 1)
	fmt.Println("country cells:", state.CellNames(1))
	fmt.Println("country counts:", country.Cells, "distinct:", country.Distinct)
	fmt.Println("missing features:", dec.Counters().Load()[payload.ReasonMissingFeature])
	// Output:
	// age edges: [30 40 50]
	// age cells: [le=30 le=40 le=50 le=+Inf __below_min__ __above_max__ __missing__ __invalid__]
	// age counts: [1 0 0 0 0 1 1 0] n: 3 sum: 95
	// country cells: [de fr us __other__ __unseen__ __missing__ __invalid__]
	// country counts: [1 1 0 0 1 0 0] distinct: 3
	// missing features: 1
}
