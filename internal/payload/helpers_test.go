package payload

import (
	"fmt"
	"math"
)

// benchSpecs are 15 numeric and 5 categorical features, f0..f14 and
// c0..c4, and a numeric prediction.
func benchSpecs() ([]FeatureSpec, *PredictionSpec) {
	var specs []FeatureSpec
	for i := range 15 {
		specs = append(specs, FeatureSpec{Name: fmt.Sprintf("f%d", i), Type: Numeric})
	}
	for i := range 5 {
		specs = append(specs, FeatureSpec{Name: fmt.Sprintf("c%d", i), Type: Categorical})
	}
	return specs, &PredictionSpec{Name: "prediction", Type: Numeric}
}

func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
