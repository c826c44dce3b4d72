package sidecar

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/driftcar/driftcar/config"
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

// keyOrEmpty is the key of p, or "" when nothing is sampled.
func (p *samplingPlan) keyOrEmpty() string {
	if p == nil {
		return ""
	}
	return p.key
}

// planSampling maps cfg onto sampler specs and reads the reference file,
// once per reload.
func planSampling(cfg *config.Config, now func() time.Time) (*samplingPlan, error) {
	p := &samplingPlan{}
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		if r.Sample == nil {
			continue
		}
		proto, err := r.PayloadProtocol()
		if err != nil {
			return nil, err
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
	var err error
	if p.model.Features, p.model.Prediction, err = cfg.PayloadSpecs(); err != nil {
		return nil, err
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
	ref, err := os.ReadFile(cfg.Reference.File)
	switch {
	case err == nil:
		p.model.Reference = ref
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("reference %s: %w", cfg.Reference.File, err)
	}
	p.key = planKey(p, ref)
	return p, nil
}

// planKey digests every setting the sampling set is built from, and the
// reference's content.
func planKey(p *samplingPlan, ref []byte) string {
	h := sha256.New()
	m := &p.model
	for _, f := range m.Features {
		fmt.Fprintf(h, "feature %q %d %q %q %d\n", f.Name, f.Type, f.Path, f.Tensor, f.Column)
	}
	if pr := m.Prediction; pr != nil {
		fmt.Fprintf(h, "prediction %q %d %q %q %q\n", pr.Name, pr.Type, pr.Path, pr.Output, pr.Labels)
	}
	fmt.Fprintf(h, "sketch %d %d\nreference %q\n", m.State.Slices, m.State.SliceDuration, m.ReferenceFile)
	if l := m.Learn; l != nil {
		fmt.Fprintf(h, "learn %d %d\n", l.Samples, l.Bins)
	}
	for _, r := range p.routes {
		fmt.Fprintf(h, "route %q %q %d %v %d %d %d\n", r.Route, r.Arms, r.Protocol, r.Fraction, r.Queue, r.MaxBody, r.Workers)
	}
	_, _ = io.WriteString(h, "content\n")
	h.Write(ref)
	return hex.EncodeToString(h.Sum(nil))
}
