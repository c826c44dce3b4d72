package payload

// kserveV1 is the KServe v1 / TF Serving REST protocol: "instances" (row
// form: objects, or arrays with an optional "columns" list) or "inputs"
// (columnar form: an object of arrays), and "predictions" (or "outputs")
// in the response.
type kserveV1 struct{}

func (kserveV1) Rows(q *Request) error {
	d := q.d
	t, sc := &d.req.t, &d.req.scratch
	rows, ok := t.field(0, "instances", &d.instHint, sc)
	if !ok {
		rows, ok = t.field(0, "inputs", &d.inputsHint, sc)
		if !ok {
			return ErrWrongType
		}
		if t.nodes[rows].kind == kindObject {
			return v1Columnar(d, rows)
		}
	}
	if t.nodes[rows].kind != kindArray {
		return ErrWrongType
	}
	d.setRows(int(t.nodes[rows].n))
	nf := len(d.feats)
	// Map features to positions for array rows.
	if cols, ok := t.field(0, "columns", &d.colsHint, sc); ok {
		if t.nodes[cols].kind != kindArray {
			return ErrWrongType
		}
		for j := range d.feats {
			d.feats[j].col = -1
			c := cols + 1
			for k := 0; k < int(t.nodes[cols].n); k++ {
				if t.nodes[c].kind == kindString && t.keyEquals(c, d.feats[j].key, sc) {
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
				if v, ok := t.field(e, f.key, &f.hint, sc); ok {
					row[j] = d.value(v, f.spec.Type)
				}
			}
		case kindArray:
			for j := range d.feats {
				f := &d.feats[j]
				if f.path != nil || f.col < 0 {
					continue
				}
				if v, ok := t.index(e, f.col); ok {
					row[j] = d.value(v, f.spec.Type)
				}
			}
		default:
			// Scalar rows: a single-feature model.
			if nf == 1 && d.feats[0].path == nil {
				row[0] = d.value(e, d.feats[0].spec.Type)
			} else {
				for j := range row {
					row[j] = Value{Kind: ValueInvalid, Reason: ReasonWrongType}
				}
			}
		}
		e = t.nodes[e].next
	}
	return nil
}

// v1Columnar handles {"inputs": {"age": [..], "country": [..]}}.
func v1Columnar(d *Decoder, obj uint32) error {
	t, sc := &d.req.t, &d.req.scratch
	n := -1
	for j := range d.feats {
		f := &d.feats[j]
		if f.path != nil {
			continue
		}
		v, ok := t.field(obj, f.key, &f.hint, sc)
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
		v, ok := t.field(obj, f.key, &f.hint, sc)
		if !ok {
			continue
		}
		e := v + 1
		for r := 0; r < d.batch.Rows; r++ {
			d.batch.Values[r*nf+j] = d.value(e, f.spec.Type)
			e = t.nodes[e].next
		}
	}
	return nil
}

func (kserveV1) Predictions(p *Response) error {
	r := p.r
	t, sc := &r.doc.t, &r.doc.scratch
	arr, ok := t.field(0, "predictions", &r.predHint, sc)
	if !ok {
		arr, ok = t.field(0, "outputs", &r.outputsHint, sc)
	}
	if !ok || t.nodes[arr].kind != kindArray {
		return ErrWrongType
	}
	e := arr + 1
	for range min(int(t.nodes[arr].n), r.maxRows) {
		r.add(e)
		e = t.nodes[e].next
	}
	return nil
}
