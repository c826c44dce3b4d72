package config

import (
	"errors"
	"fmt"

	"github.com/driftcar/driftcar/internal/payload"
)

// This file is the one mapping from the config's payload settings onto
// the payload package's specs, and their validation.

// PayloadSpecs maps the features and the prediction onto payload specs.
func (c *Config) PayloadSpecs() ([]payload.FeatureSpec, *payload.PredictionSpec, error) {
	var specs []payload.FeatureSpec
	for _, f := range c.Features {
		typ, err := payload.ParseFeatureType(f.Type)
		if err != nil {
			return nil, nil, fmt.Errorf("feature %q: %w", f.Name, err)
		}
		specs = append(specs, payload.FeatureSpec{Name: f.Name, Type: typ, Path: f.Path, Tensor: f.Tensor, Column: f.Column})
	}
	pr := c.Prediction
	if pr == nil {
		return specs, nil, nil
	}
	typ, err := payload.ParseFeatureType(pr.Type)
	if err != nil {
		return nil, nil, fmt.Errorf("prediction: %w", err)
	}
	return specs, &payload.PredictionSpec{Name: pr.Name, Type: typ, Path: pr.Path, Output: pr.Output, Labels: pr.Labels}, nil
}

// PayloadProtocol returns the protocol of r.
func (r *Route) PayloadProtocol() (payload.Protocol, error) {
	p, err := payload.ParseProtocol(r.Protocol)
	if err != nil {
		return 0, fmt.Errorf("route %q: %w", r.Name, err)
	}
	return p, nil
}

// ComparedPrediction returns what r's shadow compares: the predictions
// that prediction drift monitors, or those compare.path selects.
func (c *Config) ComparedPrediction(r *Route) payload.PredictionSpec {
	var spec payload.PredictionSpec
	if pr := c.Prediction; pr != nil {
		spec.Path, spec.Output = pr.Path, pr.Output
	}
	if r.Shadow != nil && r.Shadow.Compare.Path != "" {
		spec.Path = r.Shadow.Compare.Path
	}
	return spec
}

// payloadSettings checks every payload setting against the protocols of
// the routes that read it: the feature paths and tensors against the
// sampled routes, the prediction against the sampled and the shadowed
// ones, compare.path against its route.
func (v *validator) payloadSettings(c *Config) {
	root := rootPath
	fp, pp := root.key("features"), root.key("prediction")
	var sampled []payloadReader
	for i := range c.Routes {
		r := &c.Routes[i]
		rp := root.key("routes").index(i)
		proto, err := payload.ParseProtocol(r.Protocol)
		if r.Protocol == "" {
			proto, err = payload.KServeV1, nil
		}
		if err != nil {
			v.add(rp.key("protocol"), "%v", err)
			continue
		}
		if r.Sample != nil && !hasProtocol(sampled, proto) {
			sampled = append(sampled, payloadReader{proto, rp.key("sample").String()})
		}
		if r.Shadow != nil {
			v.comparePath(rp.key("shadow").key("compare").key("path"), c, r, proto)
		}
	}
	specs, pred, err := c.PayloadSpecs()
	if err != nil {
		return // a bad type, reported by features
	}
	for i, f := range specs {
		if f.Path != "" {
			if err := payload.ParsePath(f.Path); err != nil {
				v.add(fp.index(i).key("path"), "%v", err)
				continue
			}
		}
		for _, rd := range sampled {
			if v.specError(fp.index(i), payload.CheckFeature(rd.proto, f), rd.where) {
				break
			}
		}
	}
	if pred == nil {
		return
	}
	if pred.Path != "" {
		if err := payload.ParsePath(pred.Path); err != nil {
			v.add(pp.key("path"), "%v", err)
			return
		}
	}
	for _, rd := range sampled {
		if v.specError(pp, payload.CheckPrediction(rd.proto, *pred), rd.where) {
			return
		}
	}
}

// comparePath checks compare.path, and that it does not contradict
// prediction.path: the shadow and prediction drift read one prediction.
func (v *validator) comparePath(p *fieldPath, c *Config, r *Route, proto payload.Protocol) {
	path := r.Shadow.Compare.Path
	if path != "" {
		if err := payload.ParsePath(path); err != nil {
			v.add(p, "%v", err)
			return
		}
		if pr := c.Prediction; pr != nil && pr.Path != "" && pr.Path != path {
			v.add(p, "%q differs from prediction.path %q: the shadow compares the prediction that drift monitors, so set one of them", path, pr.Path)
			return
		}
	}
	if path == "" && c.Prediction != nil && c.Prediction.Path != "" {
		return // prediction.path is checked where it is set
	}
	err := payload.CheckPrediction(proto, c.ComparedPrediction(r))
	var se *payload.SpecError
	if errors.As(err, &se) && se.Field == "path" {
		v.add(p, "%s (or set prediction.path)", se.Msg)
	}
}

// specError adds err, a *payload.SpecError, at its field under p and
// reports whether there was one.
func (v *validator) specError(p *fieldPath, err error, where string) bool {
	var se *payload.SpecError
	if !errors.As(err, &se) {
		return false
	}
	v.add(p.key(se.Field), "%s (read by %s)", se.Msg, where)
	return true
}

// payloadReader is a protocol that reads the payload settings, and the
// first route section that reads them with it.
type payloadReader struct {
	proto payload.Protocol
	where string
}

func hasProtocol(rs []payloadReader, p payload.Protocol) bool {
	for _, r := range rs {
		if r.proto == p {
			return true
		}
	}
	return false
}
