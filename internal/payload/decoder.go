package payload

import (
	"errors"
	"fmt"
	"strconv"
)

// ValueKind says what a decoded Value holds.
type ValueKind uint8

const (
	// ValueMissing is an absent or null value.
	ValueMissing ValueKind = iota
	// ValueNumber is a finite number in Num.
	ValueNumber
	// ValueString is a category in Str.
	ValueString
	// ValueInvalid is a value that could not be used; Reason says why.
	ValueInvalid
)

// Value is one decoded feature or prediction value.
//
// Str aliases the decoded body or the Decoder's scratch memory: it is
// valid only until the next call of Decode on the same Decoder.
type Value struct {
	Kind   ValueKind
	Reason Reason // for ValueInvalid; ReasonMissingFeature for an absent value
	Num    float64
	Str    []byte
}

// Batch is the result of one Decode: Rows rows of Features values each,
// plus one prediction per row when the decoder has a prediction spec and
// a response was given. A Batch belongs to its Decoder and is overwritten
// by the next Decode.
type Batch struct {
	Rows     int
	Features int
	// Values holds the rows back to back: row i is
	// Values[i*Features : (i+1)*Features], in the order of the specs.
	Values []Value
	// Predictions has Rows entries, or none.
	Predictions []Value
}

// Row returns the feature values of row i.
func (b *Batch) Row(i int) []Value { return b.Values[i*b.Features : (i+1)*b.Features] }

// DecoderOptions tune a Decoder. The zero value is usable.
type DecoderOptions struct {
	// MaxDepth is the deepest nesting of arrays and objects accepted;
	// deeper bodies are rejected with ReasonTooDeep. Default 64.
	MaxDepth int
	// MaxRows caps the rows taken from one body; the remaining rows are
	// ignored. Default 10000.
	MaxRows int
	// Counters receives the invalid-input counts. Default: a new one,
	// returned by Decoder.Counters.
	Counters *InvalidCounters
}

func (o DecoderOptions) withDefaults() DecoderOptions {
	if o.MaxDepth <= 0 {
		o.MaxDepth = 64
	}
	if o.MaxRows <= 0 {
		o.MaxRows = 10000
	}
	if o.Counters == nil {
		o.Counters = new(InvalidCounters)
	}
	return o
}

// Decoder turns request and response bodies into feature rows and
// predictions.
//
// A Decoder is owned by one goroutine: Decode must not be called
// concurrently, and the Batch it returns is reused by the next call. In
// steady state (bodies no larger than ones already seen) Decode does not
// allocate.
type Decoder struct {
	proto    Protocol
	codec    Codec
	feats    []featDec
	pred     *ResponseDecoder // nil when predictions are not monitored
	predType FeatureType
	labels   [][]byte
	maxRows  int
	counters *InvalidCounters

	req     doc
	request Request
	batch   Batch

	// hints for the v1 and v2 layouts
	instHint, colsHint, inputsHint uint32
	v2Hints                        tensorHints

	pb pbMessage // a ModelInferRequest, for DecodeModelInfer
}

type featDec struct {
	spec    FeatureSpec
	key     string // v1 object key or v2 tensor name
	path    *jsonPath
	hint    uint32
	tensHnt uint32
	col     int // v1: index in the "columns" list of the current body
}

// NewDecoder returns a Decoder for one route. pred may be nil when
// predictions are not monitored.
func NewDecoder(proto Protocol, features []FeatureSpec, pred *PredictionSpec, opts DecoderOptions) (*Decoder, error) {
	info, ok := proto.info()
	if !ok {
		return nil, fmt.Errorf("cannot create decoder: unknown protocol %d", proto)
	}
	opts = opts.withDefaults()
	d := &Decoder{proto: proto, codec: info.Codec, maxRows: opts.MaxRows, counters: opts.Counters}
	d.request.d = d
	d.req.t.maxDepth = opts.MaxDepth
	seen := make(map[string]bool, len(features))
	for i, f := range features {
		if f.Name == "" {
			return nil, fmt.Errorf("cannot create decoder: features[%d]: empty name", i)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("cannot create decoder: features[%d]: duplicate name %q", i, f.Name)
		}
		seen[f.Name] = true
		fd, err := newFeatDec(proto, f)
		if err != nil {
			return nil, fmt.Errorf("cannot create decoder: features[%d] (%s): %w", i, f.Name, err)
		}
		d.feats = append(d.feats, fd)
	}
	if pred != nil {
		if pred.Type != Numeric && pred.Type != Categorical {
			return nil, errors.New("cannot create decoder: prediction: type must be numeric or categorical")
		}
		rd, err := NewResponseDecoder(proto, *pred, opts)
		if err != nil {
			return nil, fmt.Errorf("cannot create decoder: %w", err)
		}
		d.pred, d.predType = rd, pred.Type
		for _, l := range pred.Labels {
			d.labels = append(d.labels, []byte(l))
		}
	}
	d.batch.Features = len(d.feats)
	return d, nil
}

// SpecError names the field of a FeatureSpec or PredictionSpec that a
// protocol cannot use.
type SpecError struct {
	Field string // "type", "column", "tensor", "path" or "output"
	Msg   string
}

func (e *SpecError) Error() string { return e.Field + ": " + e.Msg }

// CheckFeature returns a *SpecError when protocol proto cannot read f.
func CheckFeature(proto Protocol, f FeatureSpec) error {
	_, err := newFeatDec(proto, f)
	return err
}

func newFeatDec(proto Protocol, f FeatureSpec) (featDec, error) {
	fd := featDec{spec: f, key: f.Name}
	if f.Type != Numeric && f.Type != Categorical {
		return fd, &SpecError{"type", "must be numeric or categorical"}
	}
	if f.Column < 0 {
		return fd, &SpecError{"column", "must be >= 0"}
	}
	if f.Tensor != "" {
		if !proto.Tensors() {
			return fd, &SpecError{"tensor", "protocol " + proto.String() + " has no tensors"}
		}
		fd.key = f.Tensor
	}
	switch {
	case f.Path != "":
		p, err := parsePath(f.Path)
		if err != nil {
			return fd, &SpecError{"path", err.Error()}
		}
		fd.path = p
	case proto.PathsOnly():
		p, err := parsePath(f.Name)
		if err != nil {
			return fd, &SpecError{"path", "required with protocol " + proto.String() + " unless the name is a path (" + err.Error() + ")"}
		}
		fd.path = p
	}
	return fd, nil
}

// Counters returns the invalid-input counters of d.
func (d *Decoder) Counters() *InvalidCounters { return d.counters }

// Decode decodes a request body and, when resp is not empty, the matching
// response body. It returns the rows (possibly zero) and a *ReasonError
// when the request body cannot be used at all. Problems with single
// values and with the response are counted and recorded in the Batch
// instead. The Batch is valid until the next call of Decode.
func (d *Decoder) Decode(req, resp []byte) (*Batch, error) {
	return d.DecodeBinary(req, JSONBody, resp, JSONBody)
}

// DecodeBinary is Decode for bodies that may use the binary tensor
// extension: reqHeaderLen and respHeaderLen are the BinaryHeader values
// from ParseHeaderLength, JSONBody for a body that is all JSON. Tensor
// bytes are read in place.
func (d *Decoder) DecodeBinary(req []byte, reqHeaderLen int, resp []byte, respHeaderLen int) (*Batch, error) {
	b := &d.batch
	b.Rows = 0
	b.Values = b.Values[:0]
	b.Predictions = b.Predictions[:0]
	d.req.reset()
	head, err := splitBinary(&d.req, req, reqHeaderLen)
	if err == nil {
		err = parseDoc(&d.req, head)
	}
	if err == nil {
		err = d.decodeRows()
	}
	if err != nil {
		b.Rows = 0
		b.Values = b.Values[:0]
		if r, ok := ReasonOf(err); ok {
			d.counters.Add(r, 1)
		}
		return b, err
	}
	d.countValues()
	if d.pred != nil && len(resp) > 0 && b.Rows > 0 {
		d.decodePredictions(resp, respHeaderLen)
	}
	return b, nil
}

// countValues counts the value-level problems of the batch.
func (d *Decoder) countValues() {
	b := &d.batch
	for i := range b.Values {
		v := &b.Values[i]
		if v.Kind == ValueInvalid || v.Kind == ValueMissing && v.Reason == ReasonMissingFeature {
			d.counters.Add(v.Reason, 1)
		}
	}
}

// decodeRows reads the rows by the protocol's layout, then the paths.
func (d *Decoder) decodeRows() error {
	if d.codec == nil {
		return d.decodePaths(0, 0, false)
	}
	if d.req.t.nodes[0].kind != kindObject {
		return ErrWrongType
	}
	if !d.hasLayoutFeatures() {
		return d.decodePaths(0, 0, false)
	}
	if err := d.codec.Rows(&d.request); err != nil {
		return err
	}
	return d.decodePaths(0, d.batch.Rows, true)
}

func parseDoc(d *doc, body []byte) error {
	switch d.t.parse(body) {
	case parseMalformed:
		return ErrMalformedJSON
	case parseTooDeep:
		return ErrTooDeep
	}
	return nil
}

// rowsOf returns the rows taken from a body with n rows.
func (d *Decoder) rowsOf(n int) int { return min(n, d.maxRows) }

// setRows sizes the batch for n rows with every value missing.
func (d *Decoder) setRows(n int) {
	n = d.rowsOf(n)
	b := &d.batch
	b.Rows = n
	total := n * len(d.feats)
	if cap(b.Values) < total {
		b.Values = make([]Value, total)
	}
	b.Values = b.Values[:total]
	for i := range b.Values {
		b.Values[i] = Value{Kind: ValueMissing, Reason: ReasonMissingFeature}
	}
}

// value converts node n of the request into a value of type typ.
func (d *Decoder) value(n uint32, typ FeatureType) Value {
	return valueOf(&d.req, n, typ)
}

func valueOf(dc *doc, n uint32, typ FeatureType) Value {
	t := &dc.t
	nd := &t.nodes[n]
	switch nd.kind {
	case kindNull:
		return Value{Kind: ValueMissing}
	case kindNumber:
		if nd.flags&flagNaNInf != 0 {
			return Value{Kind: ValueInvalid, Reason: ReasonNaNInf}
		}
		if typ == Categorical {
			return Value{Kind: ValueString, Str: t.raw(n)}
		}
		f, ok := parseNumber(t.raw(n))
		if !ok {
			return Value{Kind: ValueInvalid, Reason: ReasonNaNInf}
		}
		return Value{Kind: ValueNumber, Num: f}
	case kindTrue, kindFalse:
		if typ == Categorical {
			return Value{Kind: ValueString, Str: t.raw(n)}
		}
		if nd.kind == kindTrue {
			return Value{Kind: ValueNumber, Num: 1}
		}
		return Value{Kind: ValueNumber, Num: 0}
	case kindString:
		if typ == Categorical {
			return Value{Kind: ValueString, Str: t.str(n, &dc.scratch)}
		}
	}
	return Value{Kind: ValueInvalid, Reason: ReasonWrongType}
}

func (d *Decoder) hasLayoutFeatures() bool {
	for i := range d.feats {
		if d.feats[i].path == nil {
			return true
		}
	}
	return false
}

// decodePaths fills the features that have a path. root is the document
// node. When fixed, rows is the row count set by the protocol layout;
// otherwise the paths decide it.
func (d *Decoder) decodePaths(root uint32, rows int, fixed bool) error {
	t := &d.req.t
	sc := &d.req.scratch
	nf := len(d.feats)
	if !fixed {
		// The first [*] found decides the row count.
		n := -1
		hasPath := false
		for j := range d.feats {
			f := &d.feats[j]
			if f.path == nil {
				continue
			}
			hasPath = true
			if !f.path.wild {
				continue
			}
			arr, res := t.eval(root, f.path.pre, sc)
			if res != evalOK || t.nodes[arr].kind != kindArray {
				continue
			}
			if n < 0 {
				n = int(t.nodes[arr].n)
			} else if n != int(t.nodes[arr].n) {
				return ErrShapeMismatch
			}
		}
		if !hasPath {
			return nil
		}
		d.setRows(max(n, 1))
	}
	for j := range d.feats {
		f := &d.feats[j]
		if f.path == nil {
			continue
		}
		p := f.path
		if !p.wild {
			// One value for every row.
			v := d.pathValue(root, p.pre, f.spec.Type)
			for r := 0; r < d.batch.Rows; r++ {
				d.batch.Values[r*nf+j] = v
			}
			continue
		}
		arr, res := t.eval(root, p.pre, sc)
		if res == evalAbsent {
			continue
		}
		if res == evalWrongType || t.nodes[arr].kind != kindArray {
			for r := 0; r < d.batch.Rows; r++ {
				d.batch.Values[r*nf+j] = Value{Kind: ValueInvalid, Reason: ReasonWrongType}
			}
			continue
		}
		if d.rowsOf(int(t.nodes[arr].n)) != d.batch.Rows {
			return ErrShapeMismatch
		}
		e := arr + 1
		for r := 0; r < d.batch.Rows; r++ {
			d.batch.Values[r*nf+j] = d.pathValue(e, p.post, f.spec.Type)
			e = t.nodes[e].next
		}
	}
	return nil
}

// pathValue is the value at segs from node n, missing when absent.
func (d *Decoder) pathValue(n uint32, segs []pathSeg, typ FeatureType) Value {
	v, res := d.req.t.eval(n, segs, &d.req.scratch)
	switch res {
	case evalOK:
		return d.value(v, typ)
	case evalWrongType:
		return Value{Kind: ValueInvalid, Reason: ReasonWrongType}
	}
	return Value{Kind: ValueMissing, Reason: ReasonMissingFeature}
}

// decodePredictions fills b.Predictions from the response body, one per
// row. Problems are counted and leave invalid predictions; they never
// fail the rows.
func (d *Decoder) decodePredictions(resp []byte, headerLen int) {
	preds, err := d.pred.DecodeBinary(resp, headerLen)
	d.setPredictions(preds, err)
}

// setPredictions fills b.Predictions from a response decoder's result.
func (d *Decoder) setPredictions(preds []Prediction, err error) {
	b := &d.batch
	if err == nil && len(preds) != b.Rows {
		err = ErrShapeMismatch
	}
	b.Predictions = b.Predictions[:0]
	if err != nil {
		r, _ := ReasonOf(err)
		d.counters.Add(r, 1)
		for range b.Rows {
			b.Predictions = append(b.Predictions, Value{Kind: ValueInvalid, Reason: r})
		}
		return
	}
	for i := range preds {
		v := d.predValue(&preds[i])
		if v.Kind == ValueInvalid {
			d.counters.Add(v.Reason, 1)
		}
		b.Predictions = append(b.Predictions, v)
	}
}

// predValue reduces a prediction to the monitored type: class scores to
// the top score (numeric) or the top class (categorical).
func (d *Decoder) predValue(p *Prediction) Value {
	switch p.Kind {
	case PredictionMissing:
		return Value{Kind: ValueMissing, Reason: p.Reason}
	case PredictionInvalid:
		return Value{Kind: ValueInvalid, Reason: p.Reason}
	case PredictionNumber, PredictionBool:
		if d.predType == Categorical {
			return Value{Kind: ValueString, Str: p.Text}
		}
		return Value{Kind: ValueNumber, Num: p.Num}
	case PredictionLabel:
		if d.predType == Categorical {
			return Value{Kind: ValueString, Str: p.Text}
		}
	case PredictionCompletion:
		if d.predType == Categorical {
			return Value{Kind: ValueString, Str: p.Text}
		}
		return Value{Kind: ValueNumber, Num: p.Num}
	case PredictionScores:
		if d.predType == Numeric {
			return Value{Kind: ValueNumber, Num: p.Num}
		}
		if p.Class < len(d.labels) {
			return Value{Kind: ValueString, Str: d.labels[p.Class]}
		}
		return Value{Kind: ValueString, Str: d.pred.classText(p.Class)}
	}
	return Value{Kind: ValueInvalid, Reason: ReasonWrongType}
}

// Request is what a Codec sees of the request being decoded.
type Request struct{ d *Decoder }

// Root returns the request document.
func (q *Request) Root() Node { return q.d.req.root() }

// Features returns the number of features.
func (q *Request) Features() int { return len(q.d.feats) }

// ByLayout reports whether feature j is read by the layout, because it
// has no path.
func (q *Request) ByLayout(j int) bool { return q.d.feats[j].path == nil }

// Key returns the name under which the layout finds feature j: its
// tensor when set, else its name.
func (q *Request) Key(j int) string { return q.d.feats[j].key }

// Column returns the element index of feature j within a row.
func (q *Request) Column(j int) int { return q.d.feats[j].spec.Column }

// SetRows sets the row count, at most the decoder's MaxRows, with every
// value missing.
func (q *Request) SetRows(n int) { q.d.setRows(n) }

// Rows returns the row count set by SetRows.
func (q *Request) Rows() int { return q.d.batch.Rows }

// Set sets feature j of row r from node n.
func (q *Request) Set(r, j int, n Node) {
	d := q.d
	d.batch.Values[r*len(d.feats)+j] = d.value(n.i, d.feats[j].spec.Type)
}

// SetNumber sets feature j of row r to a number the layout derived, such
// as a length.
func (q *Request) SetNumber(r, j int, x float64) {
	d := q.d
	v := Value{Kind: ValueNumber, Num: x}
	if d.feats[j].spec.Type == Categorical {
		start := len(d.req.scratch)
		d.req.scratch = strconv.AppendFloat(d.req.scratch, x, 'g', -1, 64)
		v = Value{Kind: ValueString, Str: d.req.scratch[start:len(d.req.scratch):len(d.req.scratch)]}
	}
	d.batch.Values[r*len(d.feats)+j] = v
}

// SetInvalid marks feature j of row r invalid for reason.
func (q *Request) SetInvalid(r, j int, reason Reason) {
	d := q.d
	d.batch.Values[r*len(d.feats)+j] = Value{Kind: ValueInvalid, Reason: reason}
}
