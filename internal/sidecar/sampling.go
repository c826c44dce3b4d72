package sidecar

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/sampler"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// samplingPlan is what a config asks of sampling, and a key that changes
// whenever the plan or the reference file's content does.
type samplingPlan struct {
	model  sampler.Model
	routes []sampler.RouteSpec
	key    string
}

func planSampling(cfg *config.Config, now func() time.Time) (*samplingPlan, error) {
	p := &samplingPlan{}
	for _, r := range cfg.Routes {
		if r.Sample == nil {
			continue
		}
		proto, err := payload.ParseProtocol(r.Protocol)
		if err != nil {
			return nil, fmt.Errorf("routes %q: %w", r.Name, err)
		}
		var arms []string
		for _, a := range r.Split {
			arms = append(arms, a.Upstream)
		}
		p.routes = append(p.routes, sampler.RouteSpec{
			Arms:     arms,
			Route:    r.Name,
			Protocol: proto,
			Fraction: *r.Sample.Fraction,
			Queue:    r.Sample.Queue,
			MaxBody:  int(r.Sample.MaxBody),
			Workers:  r.Sample.Workers,
		})
	}
	if len(p.routes) == 0 {
		return nil, nil
	}
	for _, f := range cfg.Features {
		typ, err := payload.ParseFeatureType(f.Type)
		if err != nil {
			return nil, fmt.Errorf("feature %q: %w", f.Name, err)
		}
		p.model.Features = append(p.model.Features, payload.FeatureSpec{
			Name: f.Name, Type: typ, Path: f.Path, Tensor: f.Tensor, Column: f.Column,
		})
	}
	if pr := cfg.Prediction; pr != nil {
		typ, err := payload.ParseFeatureType(pr.Type)
		if err != nil {
			return nil, fmt.Errorf("prediction: %w", err)
		}
		p.model.Prediction = &payload.PredictionSpec{
			Name: pr.Name, Type: typ, Path: pr.Path, Output: pr.Output, Labels: pr.Labels,
		}
	}
	p.model.State = sketch.StateOptions{
		Slices:        cfg.Sketch.Slices,
		SliceDuration: time.Duration(cfg.Sketch.SliceDuration),
		Now:           now,
	}
	p.model.ReferenceFile = cfg.Reference.File
	if l := cfg.Reference.Learn; l != nil {
		p.model.Learn = &sampler.Learn{Samples: l.Samples, Bins: l.Bins}
	}

	h := sha256.New()
	spec, _ := json.Marshal(struct {
		Features   []config.Feature
		Prediction *config.Prediction
		Reference  *config.Reference
		Sketch     config.Sketch
		Routes     []sampler.RouteSpec
	}{cfg.Features, cfg.Prediction, cfg.Reference, cfg.Sketch, p.routes})
	h.Write(spec)
	if ref, err := os.ReadFile(cfg.Reference.File); err == nil {
		h.Write(ref)
	}
	p.key = hex.EncodeToString(h.Sum(nil))
	return p, nil
}
