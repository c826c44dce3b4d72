package refbuild

import (
	"fmt"
	"math"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// labelSpec returns the label column that ground_truth names, or nil
// when there is none or the input cannot hold one; note says why it is
// left out.
func labelSpec(cfg *config.Config, format sketch.InputFormat) (spec *sketch.LabelSpec, note string) {
	g := cfg.GroundTruth
	if g == nil || g.Label.Column == "" {
		return nil, ""
	}
	if format == sketch.PredictionLog {
		return nil, ", no performance (the prediction log has no label column)"
	}
	spec = &sketch.LabelSpec{Column: g.Label.Column, Type: g.Label.Type, Classes: g.Label.Classes}
	if t := g.Label.Threshold; t != nil {
		spec.Threshold = *t
	}
	return spec, ""
}

// performanceSummary describes p for the summary line.
func performanceSummary(p *sketch.PerformanceProfile) string {
	if p == nil {
		return ""
	}
	metric := fmt.Sprintf("accuracy %.4f", p.Accuracy())
	if math.IsNaN(p.Accuracy()) {
		metric = fmt.Sprintf("MAE %.4g, RMSE %.4g", p.MAE, p.RMSE)
	}
	return fmt.Sprintf(", performance on %d labelled rows (%d skipped): %s", p.Rows, p.Skipped, metric)
}
