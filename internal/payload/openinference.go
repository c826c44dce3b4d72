package payload

import "math"

// openInferenceV2 is the Open Inference (KServe v2) protocol: "inputs" and
// "outputs" tensors with name, shape, datatype and row-major data.
type openInferenceV2 struct{}

// tensor describes a v2 tensor in a tape, or in the binary tail.
type tensor struct {
	data  uint32
	batch int
	per   int // elements per row
	count int // leaves, or binary elements
	flat  bool

	binary bool
	dtype  dtype
	raw    []byte // binary data, in place
}

// tensorHints cache key positions in tensor objects: shape, data, name,
// parameters, binary_data_size, datatype.
type tensorHints [6]uint32

func (openInferenceV2) Rows(q *Request) error {
	d := q.d
	dc := &d.req
	t := &dc.t
	inputs, ok := t.field(0, "inputs", &d.inputsHint, &dc.scratch)
	if !ok || t.nodes[inputs].kind != kindArray || t.nodes[inputs].n == 0 {
		return ErrWrongType
	}
	if dc.binary {
		if err := layoutBinary(dc, inputs, &d.v2Hints); err != nil {
			return err
		}
	}
	// The batch size is the first dimension, and all tensors must agree.
	n := -1
	e := inputs + 1
	for k := 0; k < int(t.nodes[inputs].n); k++ {
		if t.nodes[e].kind != kindObject {
			return ErrWrongType
		}
		ts, err := readTensor(dc, e, k, &d.v2Hints)
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
		tn, ok := findTensor(dc, inputs, f.key, &f.tensHnt, &d.v2Hints[2])
		if !ok {
			continue
		}
		ts, err := readTensor(dc, tn, int(f.tensHnt), &d.v2Hints)
		if err != nil {
			return err
		}
		if f.spec.Column >= ts.per {
			for r := 0; r < d.batch.Rows; r++ {
				d.batch.Values[r*nf+j] = Value{Kind: ValueInvalid, Reason: ReasonShapeMismatch}
			}
			continue
		}
		if ts.binary {
			ts.binColumn(d.batch.Values[j:], nf, d.batch.Rows, f.spec.Column, f.spec.Type, &dc.scratch)
			continue
		}
		for r := 0; r < d.batch.Rows; r++ {
			d.batch.Values[r*nf+j] = d.value(ts.leaf(dc, r*ts.per+f.spec.Column), f.spec.Type)
		}
	}
	return nil
}

// Predictions reads the output named by the spec, or the first: one
// prediction per row, class scores when a row has several elements.
func (openInferenceV2) Predictions(p *Response) error {
	r := p.r
	dc := &r.doc
	t := &dc.t
	outs, ok := t.field(0, "outputs", &r.outputsHint, &dc.scratch)
	if !ok || t.nodes[outs].kind != kindArray || t.nodes[outs].n == 0 {
		return ErrWrongType
	}
	if dc.binary {
		if err := layoutBinary(dc, outs, &r.v2Hints); err != nil {
			return err
		}
	}
	tn := outs + 1
	var k uint32
	if r.spec.Output != "" {
		if tn, ok = findTensor(dc, outs, r.spec.Output, &k, &r.v2Hints[2]); !ok {
			return errMissingOutput
		}
	}
	if t.nodes[tn].kind != kindObject {
		return ErrWrongType
	}
	ts, err := readTensor(dc, tn, int(k), &r.v2Hints)
	if err != nil {
		return err
	}
	var c bytesCursor
	for row := range min(ts.batch, r.maxRows) {
		switch {
		case ts.binary:
			r.preds = append(r.preds, r.binPrediction(&ts, &c, row))
		case ts.per == 1:
			r.preds = append(r.preds, r.scalar(ts.leaf(dc, row)))
		case ts.flat:
			r.preds = append(r.preds, r.scores(nil, ts.data+1+uint32(row*ts.per), ts.per))
		default:
			r.preds = append(r.preds, r.scores(dc.leaves[row*ts.per:(row+1)*ts.per], 0, ts.per))
		}
	}
	return nil
}

// flatLeaves returns the leaf nodes of array arr in row-major order. For a
// flat array of scalars it returns nil and the leaves are arr+1+i.
func flatLeaves(dc *doc, arr uint32) (leaves []uint32, count int, flat bool) {
	t := &dc.t
	a := &t.nodes[arr]
	if a.next == arr+1+a.n {
		return nil, int(a.n), true
	}
	dc.leaves = dc.leaves[:0]
	// Every node in the subtree that is not a container is a leaf, and the
	// tape stores them in document order.
	for i := arr + 1; i < a.next; i++ {
		k := t.nodes[i].kind
		if k == kindObject {
			return nil, 0, false // objects are not tensor data
		}
		if k != kindArray {
			dc.leaves = append(dc.leaves, i)
		}
	}
	return dc.leaves, len(dc.leaves), false
}

// readTensor reads tensor object tn, element k of its array.
func readTensor(dc *doc, tn uint32, k int, h *tensorHints) (tensor, error) {
	t := &dc.t
	var ts tensor
	shape, ok := t.field(tn, "shape", &h[0], &dc.scratch)
	if !ok || t.nodes[shape].kind != kindArray {
		return ts, ErrWrongType
	}
	sp := binSpan{off: -1}
	if dc.binary && k < len(dc.spans) {
		sp = dc.spans[k]
	}
	if sp.off < 0 {
		data, ok := t.field(tn, "data", &h[1], &dc.scratch)
		if !ok || t.nodes[data].kind != kindArray {
			return ts, ErrWrongType
		}
		ts.data = data
	}
	ts.batch, ts.per = 1, 1
	e := shape + 1
	for dim := 0; dim < int(t.nodes[shape].n); dim++ {
		if t.nodes[e].kind != kindNumber || t.nodes[e].flags != 0 {
			return ts, ErrWrongType
		}
		f, ok := parseNumber(t.raw(e))
		if !ok || f < 0 || f != math.Trunc(f) || f > 1<<31 {
			return ts, ErrShapeMismatch
		}
		if dim == 0 {
			ts.batch = int(f)
		} else {
			if ts.per > 0 && int(f) > (1<<31)/ts.per {
				return ts, ErrShapeMismatch
			}
			ts.per *= int(f)
		}
		e = t.nodes[e].next
	}
	if sp.off >= 0 {
		return ts, ts.readBinary(dc, tn, sp, h)
	}
	data := ts.data
	_, ts.count, ts.flat = flatLeaves(dc, data)
	if !ts.flat && ts.count == 0 && t.nodes[data].n > 0 {
		return ts, ErrWrongType
	}
	if ts.count != ts.batch*ts.per {
		return ts, ErrShapeMismatch
	}
	return ts, nil
}

// leaf returns element i of a tensor read by readTensor; for nested data
// it uses the leaves collected last, so callers process one tensor at a
// time.
func (ts *tensor) leaf(dc *doc, i int) uint32 {
	if ts.flat {
		return ts.data + 1 + uint32(i)
	}
	return dc.leaves[i]
}

// findTensor finds the element of array arr whose "name" is name. hint
// caches the element index, nameHint the position of "name".
func findTensor(dc *doc, arr uint32, name string, hint, nameHint *uint32) (uint32, bool) {
	t := &dc.t
	a := &t.nodes[arr]
	named := func(e uint32) bool {
		nm, ok := t.field(e, "name", nameHint, &dc.scratch)
		return ok && t.nodes[nm].kind == kindString && t.keyEquals(nm, name, &dc.scratch)
	}
	if *hint < a.n {
		if e, _ := t.index(arr, int(*hint)); named(e) {
			return e, true
		}
	}
	e := arr + 1
	for k := uint32(0); k < a.n; k++ {
		if named(e) {
			*hint = k
			return e, true
		}
		e = t.nodes[e].next
	}
	return 0, false
}
