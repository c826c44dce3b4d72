package payload

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file reads the Open Inference protocol over gRPC: the serialized
// ModelInferRequest and ModelInferResponse of the inference.
// GRPCInferenceService, decoded in place with protowire from the field
// numbers of KServe's grpc_predict_v2.proto (Triton's grpc_service.proto
// uses the same):
//
//	ModelInferRequest:  model_name 1, model_version 2, id 3, parameters 4,
//	                    inputs 5 (InferInputTensor), outputs 6,
//	                    raw_input_contents 7 (bytes, one per input)
//	ModelInferResponse: model_name 1, model_version 2, id 3, parameters 4,
//	                    outputs 5 (InferOutputTensor), raw_output_contents 6
//	Infer{Input,Output}Tensor: name 1, datatype 2, shape 3 (int64),
//	                    parameters 4, contents 5 (InferTensorContents)
//	InferTensorContents: bool 1, int 2 (int32), int64 3, uint 4 (uint32),
//	                    uint64 5, fp32 6, fp64 7, bytes 8
//
// Typed contents are rewritten into the raw little-endian layout of the
// binary tensor extension, so both forms are read by binary.go. Features
// and predictions that name a JSON path have no meaning here: such
// features stay missing, and such a prediction spec gets ErrWrongType.

// Field numbers.
const (
	pbID              protowire.Number = 3
	pbRequestInputs   protowire.Number = 5
	pbRequestRaw      protowire.Number = 7
	pbResponseOutputs protowire.Number = 5
	pbResponseRaw     protowire.Number = 6

	pbTensorName     protowire.Number = 1
	pbTensorDatatype protowire.Number = 2
	pbTensorShape    protowire.Number = 3
	pbTensorContents protowire.Number = 5
)

// InferTensorContents fields, indexed by dtype: the field that holds the
// dtype's typed contents, 0 for FP16 and BF16, which have none.
var pbContentsField = [numDtypes]protowire.Number{
	dtBool: 1, dtInt8: 2, dtInt16: 2, dtInt32: 2, dtInt64: 3,
	dtUint8: 4, dtUint16: 4, dtUint32: 4, dtUint64: 5,
	dtFP32: 6, dtFP64: 7, dtBytes: 8,
}

// pbTensor is one tensor of a message, its fields in place.
type pbTensor struct {
	name, datatype, contents []byte
	dims                     [2]int // its shape is pbMessage.dims[dims[0]:dims[1]]
}

// pbMessage is the decoded top level of one ModelInfer message. It is
// reused from message to message.
type pbMessage struct {
	tensors []pbTensor
	read    []tensor // tensors[k] as read by tensor(k), by modelInferRows
	raws    [][]byte
	dims    []int64
	buf     []byte // typed contents rewritten as raw bytes
}

// parse reads msg, whose tensors are field tensors and whose raw
// contents are field raw.
func (m *pbMessage) parse(msg []byte, tensors, raw protowire.Number) error {
	m.tensors, m.raws, m.dims, m.buf = m.tensors[:0], m.raws[:0], m.dims[:0], m.buf[:0]
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return ErrMalformedProtobuf
		}
		msg = msg[n:]
		if typ == protowire.BytesType && (num == tensors || num == raw) {
			v, n := protowire.ConsumeBytes(msg)
			if n < 0 {
				return ErrMalformedProtobuf
			}
			msg = msg[n:]
			if num == raw {
				m.raws = append(m.raws, v)
				continue
			}
			if err := m.parseTensor(v); err != nil {
				return err
			}
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, msg); n < 0 {
			return ErrMalformedProtobuf
		}
		msg = msg[n:]
	}
	return nil
}

func (m *pbMessage) parseTensor(b []byte) error {
	t := pbTensor{dims: [2]int{len(m.dims), len(m.dims)}}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ErrMalformedProtobuf
		}
		b = b[n:]
		switch {
		case typ == protowire.BytesType && (num == pbTensorName || num == pbTensorDatatype || num == pbTensorContents):
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return ErrMalformedProtobuf
			}
			b = b[n:]
			switch num {
			case pbTensorName:
				t.name = v
			case pbTensorDatatype:
				t.datatype = v
			default:
				t.contents = v
			}
			continue
		case num == pbTensorShape && typ == protowire.BytesType: // packed
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return ErrMalformedProtobuf
			}
			b = b[n:]
			for len(v) > 0 {
				x, n := protowire.ConsumeVarint(v)
				if n < 0 {
					return ErrMalformedProtobuf
				}
				v = v[n:]
				m.dims = append(m.dims, int64(x))
			}
			continue
		case num == pbTensorShape && typ == protowire.VarintType:
			x, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return ErrMalformedProtobuf
			}
			b = b[n:]
			m.dims = append(m.dims, int64(x))
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return ErrMalformedProtobuf
		}
		b = b[n:]
	}
	t.dims[1] = len(m.dims)
	m.tensors = append(m.tensors, t)
	return nil
}

// find returns the index of the tensor called name, or -1.
func (m *pbMessage) find(name string) int {
	for k := range m.tensors {
		if string(m.tensors[k].name) == name {
			return k
		}
	}
	return -1
}

// tensor returns tensor k in the binary form that binary.go reads: its
// shape, datatype and raw bytes, checked against each other. Raw contents,
// when the message has any, must exist for every tensor.
func (m *pbMessage) tensor(k int) (tensor, error) {
	pt := &m.tensors[k]
	ts := tensor{binary: true, batch: 1, per: 1}
	for i, d := range m.dims[pt.dims[0]:pt.dims[1]] {
		if d < 0 || d > 1<<31 {
			return ts, ErrShapeMismatch
		}
		if i == 0 {
			ts.batch = int(d)
			continue
		}
		if ts.per > 0 && int(d) > (1<<31)/ts.per {
			return ts, ErrShapeMismatch
		}
		ts.per *= int(d)
	}
	if ts.dtype = parseDtype(pt.datatype); ts.dtype == dtUnknown {
		return ts, ErrWrongType
	}
	switch {
	case len(m.raws) > 0:
		if len(m.raws) != len(m.tensors) {
			return ts, ErrBinarySize
		}
		ts.raw = m.raws[k]
	default:
		raw, err := m.rewrite(pt.contents, ts.dtype)
		if err != nil {
			return ts, err
		}
		ts.raw = raw
		if ts.count = ts.batch * ts.per; ts.dtype != dtBytes && (ts.count > len(raw) || len(raw) != ts.count*dtypeSizes[ts.dtype]) {
			return ts, ErrShapeMismatch // typed contents do not fill the shape
		}
	}
	return ts, ts.checkRaw()
}

// rewrite appends the typed contents of dtype dt in c to m.buf in the raw
// layout and returns them. Earlier results stay valid: they keep the
// buffer they were written to.
func (m *pbMessage) rewrite(c []byte, dt dtype) ([]byte, error) {
	start := len(m.buf)
	field := pbContentsField[dt]
	size := dtypeSizes[dt]
	for len(c) > 0 {
		num, typ, n := protowire.ConsumeTag(c)
		if n < 0 {
			return nil, ErrMalformedProtobuf
		}
		c = c[n:]
		if num != field || field == 0 {
			if n = protowire.ConsumeFieldValue(num, typ, c); n < 0 {
				return nil, ErrMalformedProtobuf
			}
			c = c[n:]
			continue
		}
		var err error
		if c, err = m.appendValues(c, typ, dt, size); err != nil {
			return nil, err
		}
	}
	return m.buf[start:len(m.buf):len(m.buf)], nil
}

// appendValues appends the values of one contents field, packed or not,
// from the start of c, and returns the rest of c.
func (m *pbMessage) appendValues(c []byte, typ protowire.Type, dt dtype, size int) ([]byte, error) {
	if dt == dtBytes {
		if typ != protowire.BytesType {
			return nil, ErrMalformedProtobuf
		}
		v, n := protowire.ConsumeBytes(c)
		if n < 0 || len(v) > math.MaxUint32 {
			return nil, ErrMalformedProtobuf
		}
		m.buf = binary.LittleEndian.AppendUint32(m.buf, uint32(len(v)))
		m.buf = append(m.buf, v...)
		return c[n:], nil
	}
	fixed := dt == dtFP32 || dt == dtFP64
	packed := typ == protowire.BytesType
	want := protowire.VarintType
	if dt == dtFP32 {
		want = protowire.Fixed32Type
	} else if dt == dtFP64 {
		want = protowire.Fixed64Type
	}
	if !packed && typ != want {
		return nil, ErrMalformedProtobuf
	}
	vals := c
	rest := c
	if packed {
		v, n := protowire.ConsumeBytes(c)
		if n < 0 {
			return nil, ErrMalformedProtobuf
		}
		vals, rest = v, c[n:]
	}
	if fixed && packed {
		// Packed fp32 and fp64 are already the raw layout.
		if len(vals)%size != 0 {
			return nil, ErrMalformedProtobuf
		}
		m.buf = append(m.buf, vals...)
		return rest, nil
	}
	for len(vals) > 0 {
		var x uint64
		var n int
		switch want {
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(vals)
			x = uint64(v)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(vals)
		default:
			x, n = protowire.ConsumeVarint(vals)
		}
		if n < 0 {
			return nil, ErrMalformedProtobuf
		}
		vals = vals[n:]
		if dt == dtBool && x != 0 {
			x = 1
		}
		m.buf = appendLE(m.buf, x, size)
		if !packed {
			return vals, nil // one value per unpacked field
		}
	}
	return rest, nil
}

// appendLE appends the low size bytes of x, little-endian.
func appendLE(b []byte, x uint64, size int) []byte {
	for i := range size {
		b = append(b, byte(x>>(8*i)))
	}
	return b
}

// DecodeModelInfer is Decode for the Open Inference protocol over gRPC:
// req is a serialized ModelInferRequest and resp, when not empty, the
// matching ModelInferResponse. Features are read from the input tensors
// they name, typed contents or raw_input_contents alike. A request that
// is not a valid ModelInferRequest gets ErrMalformedProtobuf. In steady
// state it does not allocate.
func (d *Decoder) DecodeModelInfer(req, resp []byte) (*Batch, error) {
	b := &d.batch
	b.Rows = 0
	b.Values = b.Values[:0]
	b.Predictions = b.Predictions[:0]
	if err := d.modelInferRows(req); err != nil {
		b.Rows = 0
		b.Values = b.Values[:0]
		if r, ok := ReasonOf(err); ok {
			d.counters.Add(r, 1)
		}
		return b, err
	}
	d.countValues()
	if d.pred != nil && len(resp) > 0 && b.Rows > 0 {
		preds, err := d.pred.DecodeModelInfer(resp)
		d.setPredictions(preds, err)
	}
	return b, nil
}

func (d *Decoder) modelInferRows(req []byte) error {
	m := &d.pb
	if err := m.parse(req, pbRequestInputs, pbRequestRaw); err != nil {
		return err
	}
	if len(m.tensors) == 0 {
		return ErrWrongType
	}
	// The batch size is the first dimension, and all tensors must agree.
	n := -1
	m.read = m.read[:0]
	for k := range m.tensors {
		ts, err := m.tensor(k)
		if err != nil {
			return err
		}
		m.read = append(m.read, ts)
		if n < 0 {
			n = ts.batch
		} else if n != ts.batch {
			return ErrShapeMismatch
		}
	}
	d.setRows(n)
	nf := len(d.feats)
	for j := range d.feats {
		f := &d.feats[j]
		if f.path != nil {
			continue // a JSON path: missing over gRPC
		}
		k := m.find(f.key)
		if k < 0 {
			continue
		}
		ts := &m.read[k]
		if f.spec.Column >= ts.per {
			for r := 0; r < d.batch.Rows; r++ {
				d.batch.Values[r*nf+j] = Value{Kind: ValueInvalid, Reason: ReasonShapeMismatch}
			}
			continue
		}
		ts.binColumn(d.batch.Values[j:], nf, d.batch.Rows, f.spec.Column, f.spec.Type, &m.buf)
	}
	return nil
}

// DecodeModelInfer returns the predictions of a serialized
// ModelInferResponse, one per row of the output the spec names (or the
// first), or a *ReasonError. The slice is reused by the next call.
func (r *ResponseDecoder) DecodeModelInfer(body []byte) ([]Prediction, error) {
	r.preds = r.preds[:0]
	if r.path != nil {
		return nil, ErrWrongType
	}
	m := &r.pb
	if err := m.parse(body, pbResponseOutputs, pbResponseRaw); err != nil {
		return nil, err
	}
	if len(m.tensors) == 0 {
		return nil, ErrWrongType
	}
	k := 0
	if r.spec.Output != "" {
		if k = m.find(r.spec.Output); k < 0 {
			return nil, errMissingOutput
		}
	}
	ts, err := m.tensor(k)
	if err != nil {
		return nil, err
	}
	r.doc.reset() // binPrediction writes the text of numbers to its scratch
	var c bytesCursor
	for row := range min(ts.batch, r.maxRows) {
		r.preds = append(r.preds, r.binPrediction(&ts, &c, row))
	}
	return r.preds, nil
}

// ModelInferID returns the id field of a serialized ModelInferRequest or
// ModelInferResponse, in place, and false when it is unset, empty or the
// message is malformed.
func ModelInferID(msg []byte) ([]byte, bool) {
	var id []byte
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return nil, false
		}
		msg = msg[n:]
		if num == pbID && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(msg)
			if n < 0 {
				return nil, false
			}
			id, msg = v, msg[n:] // the last one wins, as in proto3
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, msg); n < 0 {
			return nil, false
		}
		msg = msg[n:]
	}
	return id, len(id) > 0
}
