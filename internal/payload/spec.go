package payload

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// FeatureType says how a feature's values are binned.
type FeatureType uint8

const (
	// Numeric features are binned into reference-quantile cells.
	Numeric FeatureType = iota + 1
	// Categorical features are counted per reference category.
	Categorical
)

// String returns "numeric" or "categorical".
func (t FeatureType) String() string {
	switch t {
	case Numeric:
		return "numeric"
	case Categorical:
		return "categorical"
	}
	return fmt.Sprintf("FeatureType(%d)", uint8(t))
}

// ParseFeatureType parses "numeric" or "categorical".
func ParseFeatureType(s string) (FeatureType, error) {
	switch s {
	case "numeric":
		return Numeric, nil
	case "categorical":
		return Categorical, nil
	}
	return 0, fmt.Errorf("unknown feature type %q (want numeric or categorical)", s)
}

// FeatureSpec describes one monitored input feature.
type FeatureSpec struct {
	// Name identifies the feature in metrics and in the reference profile.
	// It is also the default key of the feature: the object key of a v1
	// instance, the v2 input tensor name, the CSV header or JSONL key.
	Name string
	// Type is Numeric or Categorical. Required.
	Type FeatureType
	// Path, when set, overrides the protocol default with a JSON path into
	// the request body, e.g. "instances[*].income" or
	// "data.features[*][3]". At most one [*] is allowed; it ranges over
	// the rows. A path without [*] gives one value that is used for every
	// row of the request.
	Path string
	// Tensor, when set (Open Inference v2 only), names the input tensor
	// that holds the feature instead of Name.
	Tensor string
	// Column is the 0-based element index within one row of the v2 tensor
	// (row-major over all dimensions after the first, so for a [N, k]
	// tensor it is the column). Zero, the default, is the first element.
	Column int
}

// PredictionSpec describes the monitored model output.
type PredictionSpec struct {
	// Name identifies the prediction in metrics and in the reference
	// profile, and is the CSV/JSONL column read by BuildReference.
	// Default "prediction".
	Name string
	// Type is Numeric (regression value, or the max score of class
	// scores) or Categorical (label, or the argmax class of class scores).
	Type FeatureType
	// Path, when set, is a JSON path into the response body, e.g.
	// "predictions[*].score" ([*] ranges over the rows) or "result.scores"
	// (the elements of the array it selects are the rows; any other value
	// is one row). Default: v1 "predictions" (or "outputs"); v2 the tensor
	// named by Output, or the first output.
	Path string
	// Output names the v2 output tensor. Default: the first output.
	Output string
	// Labels, when set, names the classes of a class-score output by
	// index; otherwise the argmax index in decimal is the label.
	Labels []string
}

// DefaultPredictionName is the name of a prediction whose spec has none.
const DefaultPredictionName = "prediction"

func (p *PredictionSpec) EffectiveName() string {
	if p.Name == "" {
		return DefaultPredictionName
	}
	return p.Name
}

// Reason classifies invalid input.
type Reason uint8

const (
	// ReasonMalformedJSON: a body is not valid JSON (counted once per body).
	ReasonMalformedJSON Reason = iota
	// ReasonWrongType: a value has the wrong JSON type for its feature, or
	// the body lacks the structure the protocol requires.
	ReasonWrongType
	// ReasonNaNInf: a numeric value is NaN or ±Inf (Python's json module
	// writes NaN, Infinity and -Infinity), or overflows float64.
	ReasonNaNInf
	// ReasonShapeMismatch: v2 shape and data length disagree, tensors or
	// columns disagree on the batch size, or predictions and rows differ in
	// number (counted once per body).
	ReasonShapeMismatch
	// ReasonTooDeep: nesting deeper than the decoder's limit (once per body).
	ReasonTooDeep
	// ReasonMissingFeature: a feature is absent from a row (once per value).
	ReasonMissingFeature
	// ReasonBinarySize: the sizes of a binary tensor body do not add up:
	// the JSON header length or a binary_data_size overruns the body, a
	// tensor's size is not its shape times the element size, a BYTES
	// element overruns its tensor, or the header length is not a number
	// (counted once per body).
	ReasonBinarySize
	// ReasonMalformedStream: a server-sent event stream is cut or framed
	// wrongly, or an event's data is not JSON (once per body).
	ReasonMalformedStream
	// ReasonUsageMismatch: a stream's usage contradicts its chunks, e.g.
	// fewer completion tokens than content chunks (once per body).
	ReasonUsageMismatch
	// ReasonMalformedProtobuf: a gRPC message is not a valid
	// ModelInferRequest or ModelInferResponse (once per message).
	ReasonMalformedProtobuf
	// NumReasons is the number of reasons.
	NumReasons
)

var reasonNames = [NumReasons]string{
	"malformed_json", "wrong_type", "nan_inf", "shape_mismatch", "too_deep", "missing_feature",
	"binary_size", "malformed_stream", "usage_mismatch", "malformed_protobuf",
}

// String returns the metric label value of r, e.g. "malformed_json".
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// ReasonError is the error a Decoder returns for a body it cannot use.
// The package-level values below are the only instances, so errors.Is and
// == both work and returning one does not allocate.
type ReasonError struct{ Reason Reason }

func (e *ReasonError) Error() string { return "sampler: invalid input: " + e.Reason.String() }

// Errors returned by Decoder.Decode, one per document-level reason.
var (
	ErrMalformedJSON     = &ReasonError{ReasonMalformedJSON}
	ErrWrongType         = &ReasonError{ReasonWrongType}
	ErrShapeMismatch     = &ReasonError{ReasonShapeMismatch}
	ErrTooDeep           = &ReasonError{ReasonTooDeep}
	ErrBinarySize        = &ReasonError{ReasonBinarySize}
	ErrMalformedStream   = &ReasonError{ReasonMalformedStream}
	ErrUsageMismatch     = &ReasonError{ReasonUsageMismatch}
	ErrMalformedProtobuf = &ReasonError{ReasonMalformedProtobuf}
)

// ReasonOf returns the reason of an error returned by Decode, and false if
// err is not a *ReasonError.
func ReasonOf(err error) (Reason, bool) {
	var re *ReasonError
	if errors.As(err, &re) {
		return re.Reason, true
	}
	return 0, false
}

// InvalidCounters counts invalid input by reason. It is safe for
// concurrent use; several Decoders may share one.
type InvalidCounters struct {
	c [NumReasons]atomic.Uint64
}

// Add adds n to the counter of r.
func (c *InvalidCounters) Add(r Reason, n uint64) {
	if r < NumReasons {
		c.c[r].Add(n)
	}
}

// Load returns the current counts, indexed by Reason.
func (c *InvalidCounters) Load() [NumReasons]uint64 {
	var out [NumReasons]uint64
	for i := range out {
		out[i] = c.c[i].Load()
	}
	return out
}
