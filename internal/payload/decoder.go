package payload

import (
	"errors"
	"fmt"
	"math"
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

// Decoder turns request and response bodies into feature rows and
// predictions.
//
// A Decoder is owned by one goroutine: Decode must not be called
// concurrently, and the Batch it returns is reused by the next call. In
// steady state (bodies no larger than ones already seen) Decode does not
// allocate.
type Decoder struct {
	proto    Protocol
	feats    []featDec
	hasPred  bool
	pred     PredictionSpec
	labels   [][]byte
	predPath *jsonPath
	maxRows  int
	counters *InvalidCounters

	req, resp tape
	scratch   []byte
	leaves    []uint32
	batch     Batch

	// hints for the v1 and v2 layouts
	instHint, colsHint, inputsHint uint32
	predHint, outputsHint          uint32
	v2Hints                        [4]uint32
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
	switch proto {
	case KServeV1, OpenInferenceV2, JSON:
	default:
		return nil, fmt.Errorf("cannot create decoder: unknown protocol %d", proto)
	}
	d := &Decoder{proto: proto, maxRows: opts.MaxRows, counters: opts.Counters}
	if d.maxRows <= 0 {
		d.maxRows = 10000
	}
	if d.counters == nil {
		d.counters = new(InvalidCounters)
	}
	depth := opts.MaxDepth
	if depth <= 0 {
		depth = 64
	}
	d.req.maxDepth, d.resp.maxDepth = depth, depth
	seen := make(map[string]bool, len(features))
	for i, f := range features {
		if f.Name == "" {
			return nil, fmt.Errorf("cannot create decoder: features[%d]: empty name", i)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("cannot create decoder: features[%d]: duplicate name %q", i, f.Name)
		}
		seen[f.Name] = true
		if f.Type != Numeric && f.Type != Categorical {
			return nil, fmt.Errorf("cannot create decoder: features[%d] (%s): type must be numeric or categorical", i, f.Name)
		}
		if f.Column < 0 {
			return nil, fmt.Errorf("cannot create decoder: features[%d] (%s): column must be >= 0", i, f.Name)
		}
		fd := featDec{spec: f, key: f.Name}
		if f.Tensor != "" {
			if proto != OpenInferenceV2 {
				return nil, fmt.Errorf("cannot create decoder: features[%d] (%s): tensor needs protocol open-inference-v2", i, f.Name)
			}
			fd.key = f.Tensor
		}
		if f.Path != "" {
			p, err := parsePath(f.Path)
			if err != nil {
				return nil, fmt.Errorf("cannot create decoder: features[%d] (%s): %w", i, f.Name, err)
			}
			fd.path = p
		} else if proto == JSON {
			p, err := parsePath(f.Name)
			if err != nil {
				return nil, fmt.Errorf("cannot create decoder: features[%d] (%s): protocol json needs a path: %w", i, f.Name, err)
			}
			fd.path = p
		}
		d.feats = append(d.feats, fd)
	}
	if pred != nil {
		if pred.Type != Numeric && pred.Type != Categorical {
			return nil, errors.New("cannot create decoder: prediction: type must be numeric or categorical")
		}
		d.hasPred = true
		d.pred = *pred
		for _, l := range pred.Labels {
			d.labels = append(d.labels, []byte(l))
		}
		if pred.Path != "" {
			p, err := parsePath(pred.Path)
			if err != nil {
				return nil, fmt.Errorf("cannot create decoder: prediction: %w", err)
			}
			if !p.wild {
				return nil, fmt.Errorf("cannot create decoder: prediction: path %q needs one [*] over the rows", pred.Path)
			}
			d.predPath = p
		} else if proto == JSON {
			return nil, errors.New("cannot create decoder: prediction: protocol json needs a path")
		}
	}
	d.batch.Features = len(d.feats)
	return d, nil
}

// Counters returns the invalid-input counters of d.
func (d *Decoder) Counters() *InvalidCounters { return d.counters }

// Decode decodes a request body and, when resp is not empty, the matching
// response body. It returns the rows (possibly zero) and a *ReasonError
// when the request body cannot be used at all. Problems with single
// values and with the response are counted and recorded in the Batch
// instead. The Batch is valid until the next call of Decode.
func (d *Decoder) Decode(req, resp []byte) (*Batch, error) {
	b := &d.batch
	b.Rows = 0
	b.Values = b.Values[:0]
	b.Predictions = b.Predictions[:0]
	d.scratch = d.scratch[:0]
	if err := d.parse(&d.req, req); err != nil {
		return b, err
	}
	var err error
	switch d.proto {
	case KServeV1:
		err = d.decodeV1()
	case OpenInferenceV2:
		err = d.decodeV2()
	case JSON:
		err = d.decodePaths(0, 0, false)
	}
	if err != nil {
		b.Rows = 0
		b.Values = b.Values[:0]
		if r, ok := ReasonOf(err); ok {
			d.counters.Add(r, 1)
		}
		return b, err
	}
	// Count value-level problems.
	for i := range b.Values {
		v := &b.Values[i]
		if v.Kind == ValueInvalid || v.Kind == ValueMissing && v.Reason == ReasonMissingFeature {
			d.counters.Add(v.Reason, 1)
		}
	}
	if d.hasPred && len(resp) > 0 && b.Rows > 0 {
		d.decodePredictions(resp)
	}
	return b, nil
}

func (d *Decoder) parse(t *tape, body []byte) error {
	switch t.parse(body) {
	case parseMalformed:
		d.counters.Add(ReasonMalformedJSON, 1)
		return ErrMalformedJSON
	case parseTooDeep:
		d.counters.Add(ReasonTooDeep, 1)
		return ErrTooDeep
	}
	return nil
}

// rowsOf returns the rows taken from a body with n rows.
func (d *Decoder) rowsOf(n int) int { return min(n, d.maxRows) }

// setRows sizes the batch for n rows with every value missing.
func (d *Decoder) setRows(n int) {
	if n > d.maxRows {
		n = d.maxRows
	}
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

// value converts node n of t into a value of type typ.
func (d *Decoder) value(t *tape, n uint32, typ FeatureType) Value {
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
			return Value{Kind: ValueString, Str: t.str(n, &d.scratch)}
		}
	}
	return Value{Kind: ValueInvalid, Reason: ReasonWrongType}
}

func (d *Decoder) hasDefaultFeatures() bool {
	for i := range d.feats {
		if d.feats[i].path == nil {
			return true
		}
	}
	return false
}

// decodeV1 handles {"instances": [...]} and {"inputs": ...}.
func (d *Decoder) decodeV1() error {
	t := &d.req
	if t.nodes[0].kind != kindObject {
		return ErrWrongType
	}
	if !d.hasDefaultFeatures() {
		return d.decodePaths(0, 0, false)
	}
	rows, ok := t.field(0, "instances", &d.instHint, &d.scratch)
	if !ok {
		rows, ok = t.field(0, "inputs", &d.inputsHint, &d.scratch)
		if !ok {
			return ErrWrongType
		}
		if t.nodes[rows].kind == kindObject {
			return d.decodeV1Columnar(rows)
		}
	}
	if t.nodes[rows].kind != kindArray {
		return ErrWrongType
	}
	n := int(t.nodes[rows].n)
	d.setRows(n)
	nf := len(d.feats)
	// Map features to positions for array rows.
	if cols, ok := t.field(0, "columns", &d.colsHint, &d.scratch); ok {
		if t.nodes[cols].kind != kindArray {
			return ErrWrongType
		}
		for j := range d.feats {
			d.feats[j].col = -1
			c := cols + 1
			for k := 0; k < int(t.nodes[cols].n); k++ {
				if t.nodes[c].kind == kindString && t.keyEquals(c, d.feats[j].key, &d.scratch) {
					d.feats[j].col = k
					break
				}
				c = t.nodes[c].next
			}
		}
	} else {
		for j := range d.feats {
			d.feats[j].col = j
		}
	}
	e := rows + 1
	for r := 0; r < d.batch.Rows; r++ {
		row := d.batch.Values[r*nf : (r+1)*nf]
		switch t.nodes[e].kind {
		case kindObject:
			for j := range d.feats {
				f := &d.feats[j]
				if f.path != nil {
					continue
				}
				if v, ok := t.field(e, f.key, &f.hint, &d.scratch); ok {
					row[j] = d.value(t, v, f.spec.Type)
				}
			}
		case kindArray:
			// Array rows: walk the elements once.
			for j := range d.feats {
				f := &d.feats[j]
				if f.path != nil || f.col < 0 {
					continue
				}
				if v, ok := t.index(e, f.col); ok {
					row[j] = d.value(t, v, f.spec.Type)
				}
			}
		default:
			// Scalar rows: a single-feature model.
			if nf == 1 && d.feats[0].path == nil {
				row[0] = d.value(t, e, d.feats[0].spec.Type)
			} else {
				for j := range row {
					row[j] = Value{Kind: ValueInvalid, Reason: ReasonWrongType}
				}
			}
		}
		e = t.nodes[e].next
	}
	return d.decodePaths(0, d.batch.Rows, true)
}

// decodeV1Columnar handles {"inputs": {"age": [..], "country": [..]}}.
func (d *Decoder) decodeV1Columnar(obj uint32) error {
	t := &d.req
	n := -1
	for j := range d.feats {
		f := &d.feats[j]
		if f.path != nil {
			continue
		}
		v, ok := t.field(obj, f.key, &f.hint, &d.scratch)
		if !ok {
			continue
		}
		if t.nodes[v].kind != kindArray {
			return ErrWrongType
		}
		if n < 0 {
			n = int(t.nodes[v].n)
		} else if n != int(t.nodes[v].n) {
			return ErrShapeMismatch
		}
	}
	if n < 0 {
		n = 1 // no feature present: one row of missing values
	}
	d.setRows(n)
	nf := len(d.feats)
	for j := range d.feats {
		f := &d.feats[j]
		if f.path != nil {
			continue
		}
		v, ok := t.field(obj, f.key, &f.hint, &d.scratch)
		if !ok {
			continue
		}
		e := v + 1
		for r := 0; r < d.batch.Rows; r++ {
			d.batch.Values[r*nf+j] = d.value(t, e, f.spec.Type)
			e = t.nodes[e].next
		}
	}
	return d.decodePaths(0, d.batch.Rows, true)
}

// flatLeaves returns the leaf nodes of array arr in row-major order. For a
// flat array of scalars it returns nil and the leaves are arr+1+i.
func (d *Decoder) flatLeaves(t *tape, arr uint32) (leaves []uint32, count int, flat bool) {
	a := &t.nodes[arr]
	if a.next == arr+1+a.n {
		return nil, int(a.n), true
	}
	d.leaves = d.leaves[:0]
	// Every node in the subtree that is not a container is a leaf, and the
	// tape stores them in document order.
	for i := arr + 1; i < a.next; i++ {
		k := t.nodes[i].kind
		if k == kindObject {
			return nil, 0, false // objects are not tensor data
		}
		if k != kindArray {
			d.leaves = append(d.leaves, i)
		}
	}
	return d.leaves, len(d.leaves), false
}

// tensor describes a v2 tensor in a tape.
type tensor struct {
	data  uint32
	batch int
	per   int // elements per row
	count int // leaves
	flat  bool
}

func (d *Decoder) readTensor(t *tape, tn uint32, h *[4]uint32) (tensor, error) {
	var ts tensor
	shape, ok := t.field(tn, "shape", &h[0], &d.scratch)
	if !ok || t.nodes[shape].kind != kindArray {
		return ts, ErrWrongType
	}
	data, ok := t.field(tn, "data", &h[1], &d.scratch)
	if !ok || t.nodes[data].kind != kindArray {
		return ts, ErrWrongType
	}
	ts.data = data
	ts.batch, ts.per = 1, 1
	e := shape + 1
	for k := 0; k < int(t.nodes[shape].n); k++ {
		if t.nodes[e].kind != kindNumber || t.nodes[e].flags != 0 {
			return ts, ErrWrongType
		}
		f, ok := parseNumber(t.raw(e))
		if !ok || f < 0 || f != math.Trunc(f) || f > 1<<31 {
			return ts, ErrShapeMismatch
		}
		if k == 0 {
			ts.batch = int(f)
		} else {
			if ts.per > 0 && int(f) > (1<<31)/ts.per {
				return ts, ErrShapeMismatch
			}
			ts.per *= int(f)
		}
		e = t.nodes[e].next
	}
	_, ts.count, ts.flat = d.flatLeaves(t, data)
	if !ts.flat && ts.count == 0 && t.nodes[data].n > 0 {
		return ts, ErrWrongType
	}
	if ts.count != ts.batch*ts.per {
		return ts, ErrShapeMismatch
	}
	return ts, nil
}

// leaf returns element i of a tensor read by readTensor; for nested data
// it re-collects the leaves, so callers process one tensor at a time.
func (ts *tensor) leaf(d *Decoder, i int) uint32 {
	if ts.flat {
		return ts.data + 1 + uint32(i)
	}
	return d.leaves[i]
}

// decodeV2 handles {"inputs": [{"name", "shape", "datatype", "data"}]}.
func (d *Decoder) decodeV2() error {
	t := &d.req
	if t.nodes[0].kind != kindObject {
		return ErrWrongType
	}
	if !d.hasDefaultFeatures() {
		return d.decodePaths(0, 0, false)
	}
	inputs, ok := t.field(0, "inputs", &d.inputsHint, &d.scratch)
	if !ok || t.nodes[inputs].kind != kindArray || t.nodes[inputs].n == 0 {
		return ErrWrongType
	}
	// The batch size is the first dimension, and all tensors must agree.
	n := -1
	e := inputs + 1
	for k := 0; k < int(t.nodes[inputs].n); k++ {
		if t.nodes[e].kind != kindObject {
			return ErrWrongType
		}
		ts, err := d.readTensor(t, e, &d.v2Hints)
		if err != nil {
			return err
		}
		if n < 0 {
			n = ts.batch
		} else if n != ts.batch {
			return ErrShapeMismatch
		}
		e = t.nodes[e].next
	}
	d.setRows(n)
	nf := len(d.feats)
	for j := range d.feats {
		f := &d.feats[j]
		if f.path != nil {
			continue
		}
		tn, ok := d.findTensor(t, inputs, f.key, &f.tensHnt)
		if !ok {
			continue
		}
		ts, err := d.readTensor(t, tn, &d.v2Hints)
		if err != nil {
			return err
		}
		if f.spec.Column >= ts.per {
			for r := 0; r < d.batch.Rows; r++ {
				d.batch.Values[r*nf+j] = Value{Kind: ValueInvalid, Reason: ReasonShapeMismatch}
			}
			continue
		}
		for r := 0; r < d.batch.Rows; r++ {
			d.batch.Values[r*nf+j] = d.value(t, ts.leaf(d, r*ts.per+f.spec.Column), f.spec.Type)
		}
	}
	return d.decodePaths(0, d.batch.Rows, true)
}

// findTensor finds the element of array arr whose "name" is name. hint
// caches the element index.
func (d *Decoder) findTensor(t *tape, arr uint32, name string, hint *uint32) (uint32, bool) {
	a := &t.nodes[arr]
	if *hint < a.n {
		e, _ := t.index(arr, int(*hint))
		if nm, ok := t.field(e, "name", &d.v2Hints[2], &d.scratch); ok && t.nodes[nm].kind == kindString && t.keyEquals(nm, name, &d.scratch) {
			return e, true
		}
	}
	e := arr + 1
	for k := uint32(0); k < a.n; k++ {
		if nm, ok := t.field(e, "name", &d.v2Hints[2], &d.scratch); ok && t.nodes[nm].kind == kindString && t.keyEquals(nm, name, &d.scratch) {
			*hint = k
			return e, true
		}
		e = t.nodes[e].next
	}
	return 0, false
}

// decodePaths fills the features that have a path. root is the document
// node. When fixed, rows is the row count set by the protocol layout;
// otherwise the paths decide it.
func (d *Decoder) decodePaths(root uint32, rows int, fixed bool) error {
	t := &d.req
	nf := len(d.feats)
	hasPath := false
	if !fixed {
		// The first [*] found decides the row count.
		n := -1
		for j := range d.feats {
			f := &d.feats[j]
			if f.path == nil {
				continue
			}
			hasPath = true
			if !f.path.wild {
				continue
			}
			arr, res := t.eval(root, f.path.pre, &d.scratch)
			if res != evalOK {
				continue
			}
			if t.nodes[arr].kind != kindArray {
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
		if n < 0 {
			n = 1
		}
		d.setRows(n)
	}
	for j := range d.feats {
		f := &d.feats[j]
		if f.path == nil {
			continue
		}
		p := f.path
		if !p.wild {
			// One value for every row.
			v := Value{Kind: ValueMissing, Reason: ReasonMissingFeature}
			n, res := t.eval(root, p.pre, &d.scratch)
			switch res {
			case evalOK:
				v = d.value(t, n, f.spec.Type)
			case evalWrongType:
				v = Value{Kind: ValueInvalid, Reason: ReasonWrongType}
			}
			for r := 0; r < d.batch.Rows; r++ {
				d.batch.Values[r*nf+j] = v
			}
			continue
		}
		arr, res := t.eval(root, p.pre, &d.scratch)
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
			v := Value{Kind: ValueMissing, Reason: ReasonMissingFeature}
			n, res := t.eval(e, p.post, &d.scratch)
			switch res {
			case evalOK:
				v = d.value(t, n, f.spec.Type)
			case evalWrongType:
				v = Value{Kind: ValueInvalid, Reason: ReasonWrongType}
			}
			d.batch.Values[r*nf+j] = v
			e = t.nodes[e].next
		}
	}
	return nil
}

// decodePredictions fills b.Predictions from the response body. Problems
// are counted and leave invalid predictions; they never fail the rows.
func (d *Decoder) decodePredictions(resp []byte) {
	b := &d.batch
	fill := func(v Value) {
		b.Predictions = b.Predictions[:0]
		for r := 0; r < b.Rows; r++ {
			b.Predictions = append(b.Predictions, v)
		}
	}
	if err := d.parse(&d.resp, resp); err != nil {
		r, _ := ReasonOf(err)
		fill(Value{Kind: ValueInvalid, Reason: r})
		return
	}
	t := &d.resp
	bad := func(r Reason) {
		d.counters.Add(r, 1)
		fill(Value{Kind: ValueInvalid, Reason: r})
	}
	if d.predPath != nil {
		arr, res := t.eval(0, d.predPath.pre, &d.scratch)
		if res != evalOK || t.nodes[arr].kind != kindArray {
			bad(ReasonWrongType)
			return
		}
		if d.rowsOf(int(t.nodes[arr].n)) != b.Rows {
			bad(ReasonShapeMismatch)
			return
		}
		b.Predictions = b.Predictions[:0]
		e := arr + 1
		for r := 0; r < b.Rows; r++ {
			v := Value{Kind: ValueMissing, Reason: ReasonMissingFeature}
			if n, res := t.eval(e, d.predPath.post, &d.scratch); res == evalOK {
				v = d.predValue(t, n, 0)
			} else if res == evalWrongType {
				v = Value{Kind: ValueInvalid, Reason: ReasonWrongType}
			}
			b.Predictions = append(b.Predictions, v)
			e = t.nodes[e].next
		}
		d.countPredictions()
		return
	}
	if t.nodes[0].kind != kindObject {
		bad(ReasonWrongType)
		return
	}
	switch d.proto {
	case KServeV1:
		arr, ok := t.field(0, "predictions", &d.predHint, &d.scratch)
		if !ok {
			arr, ok = t.field(0, "outputs", &d.outputsHint, &d.scratch)
		}
		if !ok || t.nodes[arr].kind != kindArray {
			bad(ReasonWrongType)
			return
		}
		if d.rowsOf(int(t.nodes[arr].n)) != b.Rows {
			bad(ReasonShapeMismatch)
			return
		}
		b.Predictions = b.Predictions[:0]
		e := arr + 1
		for r := 0; r < b.Rows; r++ {
			b.Predictions = append(b.Predictions, d.predValue(t, e, 0))
			e = t.nodes[e].next
		}
	case OpenInferenceV2:
		outs, ok := t.field(0, "outputs", &d.outputsHint, &d.scratch)
		if !ok || t.nodes[outs].kind != kindArray || t.nodes[outs].n == 0 {
			bad(ReasonWrongType)
			return
		}
		var tn uint32
		if d.pred.Output != "" {
			var hint uint32
			tn, ok = d.findTensor(t, outs, d.pred.Output, &hint)
			if !ok {
				bad(ReasonMissingFeature)
				return
			}
		} else {
			tn = outs + 1
		}
		if t.nodes[tn].kind != kindObject {
			bad(ReasonWrongType)
			return
		}
		var h [4]uint32
		ts, err := d.readTensor(t, tn, &h)
		if err != nil {
			r, _ := ReasonOf(err)
			bad(r)
			return
		}
		if d.rowsOf(ts.batch) != b.Rows {
			bad(ReasonShapeMismatch)
			return
		}
		b.Predictions = b.Predictions[:0]
		for r := 0; r < b.Rows; r++ {
			b.Predictions = append(b.Predictions, d.predScores(t, &ts, r))
		}
	}
	d.countPredictions()
}

func (d *Decoder) countPredictions() {
	for i := range d.batch.Predictions {
		v := &d.batch.Predictions[i]
		if v.Kind == ValueInvalid {
			d.counters.Add(v.Reason, 1)
		}
	}
}

// predValue converts one v1 prediction: a scalar, or an array of class
// scores.
func (d *Decoder) predValue(t *tape, n uint32, depth int) Value {
	nd := &t.nodes[n]
	if nd.kind != kindArray {
		return d.value(t, n, d.pred.Type)
	}
	if nd.n == 1 && depth == 0 {
		return d.predValue(t, n+1, 1)
	}
	if nd.n == 0 || nd.next != n+1+nd.n {
		return Value{Kind: ValueInvalid, Reason: ReasonWrongType}
	}
	return d.argmax(t, nil, n+1, int(nd.n))
}

func (d *Decoder) predScores(t *tape, ts *tensor, r int) Value {
	if ts.per == 1 {
		return d.value(t, ts.leaf(d, r), d.pred.Type)
	}
	if ts.flat {
		return d.argmax(t, nil, ts.data+1+uint32(r*ts.per), ts.per)
	}
	return d.argmax(t, d.leaves[r*ts.per:(r+1)*ts.per], 0, ts.per)
}

// argmax reduces class scores to the max score (numeric) or the class
// with the max score (categorical). The scores are leaves[0:n], or the
// consecutive nodes base, base+1, ... when leaves is nil.
func (d *Decoder) argmax(t *tape, leaves []uint32, base uint32, n int) Value {
	best, bestI := math.Inf(-1), -1
	for i := 0; i < n; i++ {
		e := base + uint32(i)
		if leaves != nil {
			e = leaves[i]
		}
		if t.nodes[e].kind != kindNumber {
			return Value{Kind: ValueInvalid, Reason: ReasonWrongType}
		}
		if t.nodes[e].flags&flagNaNInf != 0 {
			return Value{Kind: ValueInvalid, Reason: ReasonNaNInf}
		}
		f, ok := parseNumber(t.raw(e))
		if !ok {
			return Value{Kind: ValueInvalid, Reason: ReasonNaNInf}
		}
		if f > best {
			best, bestI = f, i
		}
	}
	if d.pred.Type == Numeric {
		return Value{Kind: ValueNumber, Num: best}
	}
	if bestI < len(d.labels) {
		return Value{Kind: ValueString, Str: d.labels[bestI]}
	}
	start := len(d.scratch)
	d.scratch = strconv.AppendInt(d.scratch, int64(bestI), 10)
	return Value{Kind: ValueString, Str: d.scratch[start:len(d.scratch):len(d.scratch)]}
}
