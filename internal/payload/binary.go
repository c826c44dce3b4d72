package payload

import (
	"encoding/binary"
	"math"
	"strconv"
)

// This file reads the binary tensor extension of the Open Inference
// protocol (Triton, KServe): a body whose first N bytes, N being the
// value of the Inference-Header-Content-Length header, are the JSON
// inference header, followed by the raw bytes of the tensors whose
// parameters hold "binary_data_size", in tensor order. Raw data is
// row-major and little-endian; a BYTES element is a 4-byte little-endian
// length and then the bytes. The tensor bytes are read in place.

// BinaryHeader is the HTTP header that gives the length of the JSON part
// of a binary tensor body.
const BinaryHeader = "Inference-Header-Content-Length"

// Header lengths with a meaning of their own, for DecodeBinary.
const (
	// JSONBody: the body is all JSON (no BinaryHeader).
	JSONBody = -1
	// BadHeaderLength: the BinaryHeader value is not a length; the body
	// is counted as ReasonBinarySize.
	BadHeaderLength = -2
)

// ParseHeaderLength parses a BinaryHeader value: JSONBody when v is
// empty (the header is absent), BadHeaderLength when v is not a decimal
// length. It does not allocate.
func ParseHeaderLength(v []byte) int {
	if len(v) == 0 {
		return JSONBody
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' || n > maxDocLen/10 {
			return BadHeaderLength
		}
		n = n*10 + int(c-'0')
	}
	if n > maxDocLen {
		return BadHeaderLength
	}
	return n
}

// splitBinary splits body at headerLen into the JSON header, which it
// returns, and the binary tail, which it keeps in dc.
func splitBinary(dc *doc, body []byte, headerLen int) ([]byte, error) {
	dc.binary, dc.bin = false, nil
	switch {
	case headerLen == JSONBody:
		return body, nil
	case headerLen < 0 || headerLen > len(body):
		return nil, ErrBinarySize
	}
	dc.binary, dc.bin = true, body[headerLen:]
	return body[:headerLen], nil
}

// binSpan is where one tensor's bytes sit in the binary tail; off is -1
// for a tensor whose data is JSON.
type binSpan struct{ off, size int }

// layoutBinary gives each tensor of array arr that has a binary_data_size
// its bytes of the tail, in order. The sizes must fill the tail exactly.
func layoutBinary(dc *doc, arr uint32, h *tensorHints) error {
	t := &dc.t
	dc.spans = dc.spans[:0]
	off := 0
	e := arr + 1
	for range t.nodes[arr].n {
		sp := binSpan{off: -1}
		size, ok, err := binarySize(dc, e, h)
		if err != nil {
			return err
		}
		if ok {
			if size > len(dc.bin)-off {
				return ErrBinarySize
			}
			sp = binSpan{off, size}
			off += size
		}
		dc.spans = append(dc.spans, sp)
		e = t.nodes[e].next
	}
	if off != len(dc.bin) {
		return ErrBinarySize
	}
	return nil
}

// binarySize returns parameters.binary_data_size of tensor object tn.
func binarySize(dc *doc, tn uint32, h *tensorHints) (int, bool, error) {
	t := &dc.t
	params, ok := t.field(tn, "parameters", &h[3], &dc.scratch)
	if !ok || t.nodes[params].kind != kindObject {
		return 0, false, nil
	}
	n, ok := t.field(params, "binary_data_size", &h[4], &dc.scratch)
	if !ok {
		return 0, false, nil
	}
	if t.nodes[n].kind != kindNumber {
		return 0, false, ErrWrongType
	}
	f, ok := parseNumber(t.raw(n))
	if t.nodes[n].flags != 0 || !ok || f < 0 || f != math.Trunc(f) || f > maxDocLen {
		return 0, false, ErrBinarySize
	}
	return int(f), true, nil
}

// dtype is a tensor datatype of the binary extension.
type dtype uint8

const (
	dtUnknown dtype = iota
	dtBool
	dtUint8
	dtUint16
	dtUint32
	dtUint64
	dtInt8
	dtInt16
	dtInt32
	dtInt64
	dtFP16
	dtBF16
	dtFP32
	dtFP64
	dtBytes
	numDtypes
)

var dtypeNames = [numDtypes]string{"", "BOOL", "UINT8", "UINT16", "UINT32", "UINT64",
	"INT8", "INT16", "INT32", "INT64", "FP16", "BF16", "FP32", "FP64", "BYTES"}

// dtypeSizes are the element sizes; BYTES elements have none.
var dtypeSizes = [numDtypes]int{0, 1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 2, 4, 8, 0}

func parseDtype(s []byte) dtype {
	for i := dtBool; i < numDtypes; i++ {
		if string(s) == dtypeNames[i] {
			return i
		}
	}
	return dtUnknown
}

// readBinary completes ts, whose shape is read, from its span of the
// tail: the datatype, and a size that fits the shape.
func (ts *tensor) readBinary(dc *doc, tn uint32, sp binSpan, h *tensorHints) error {
	t := &dc.t
	dt, ok := t.field(tn, "datatype", &h[5], &dc.scratch)
	if !ok || t.nodes[dt].kind != kindString {
		return ErrWrongType
	}
	if ts.dtype = parseDtype(t.str(dt, &dc.scratch)); ts.dtype == dtUnknown {
		return ErrWrongType
	}
	ts.binary = true
	ts.raw = dc.bin[sp.off : sp.off+sp.size : sp.off+sp.size]
	return ts.checkRaw()
}

// checkRaw sets the element count of ts, whose shape, datatype and raw
// bytes are set, and checks that the bytes hold exactly that many.
func (ts *tensor) checkRaw() error {
	count := ts.batch * ts.per // each at most 2^31
	ts.count = count
	if ts.dtype != dtBytes {
		if count > len(ts.raw) || count*dtypeSizes[ts.dtype] != len(ts.raw) {
			return ErrBinarySize
		}
		return nil
	}
	// Every BYTES element must fit, and together they fill the span.
	pos := 0
	for range count {
		if len(ts.raw)-pos < 4 {
			return ErrBinarySize
		}
		n := int(binary.LittleEndian.Uint32(ts.raw[pos:]))
		pos += 4
		if n > len(ts.raw)-pos {
			return ErrBinarySize
		}
		pos += n
	}
	if pos != len(ts.raw) {
		return ErrBinarySize
	}
	return nil
}

// num returns element i of a fixed-size binary tensor.
func (ts *tensor) num(i int) float64 {
	b := ts.raw
	le := binary.LittleEndian
	switch ts.dtype {
	case dtBool, dtUint8:
		return float64(b[i])
	case dtInt8:
		return float64(int8(b[i]))
	case dtUint16:
		return float64(le.Uint16(b[2*i:]))
	case dtInt16:
		return float64(int16(le.Uint16(b[2*i:])))
	case dtUint32:
		return float64(le.Uint32(b[4*i:]))
	case dtInt32:
		return float64(int32(le.Uint32(b[4*i:])))
	case dtUint64:
		return float64(le.Uint64(b[8*i:]))
	case dtInt64:
		return float64(int64(le.Uint64(b[8*i:])))
	case dtFP16:
		return halfToFloat(le.Uint16(b[2*i:]))
	case dtBF16:
		return float64(math.Float32frombits(uint32(le.Uint16(b[2*i:])) << 16))
	case dtFP32:
		return float64(math.Float32frombits(le.Uint32(b[4*i:])))
	case dtFP64:
		return math.Float64frombits(le.Uint64(b[8*i:]))
	}
	return math.NaN()
}

// appendText appends element i of a fixed-size binary tensor as text:
// integers in decimal, floats in the shortest form of their width.
func (ts *tensor) appendText(dst []byte, i int) []byte {
	le := binary.LittleEndian
	switch ts.dtype {
	case dtUint64:
		return strconv.AppendUint(dst, le.Uint64(ts.raw[8*i:]), 10)
	case dtInt64:
		return strconv.AppendInt(dst, int64(le.Uint64(ts.raw[8*i:])), 10)
	case dtFP16, dtBF16, dtFP32:
		return strconv.AppendFloat(dst, ts.num(i), 'g', -1, 32)
	case dtFP64:
		return strconv.AppendFloat(dst, ts.num(i), 'g', -1, 64)
	}
	return strconv.AppendInt(dst, int64(ts.num(i)), 10) // exact below 64 bits
}

// halfToFloat converts an IEEE 754 binary16 value.
func halfToFloat(h uint16) float64 {
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	var f float64
	switch exp {
	case 0: // zero or subnormal: frac × 2^-24
		f = math.Ldexp(frac, -24)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		f = math.Inf(1)
	default: // (1 + frac/1024) × 2^(exp-15)
		f = math.Ldexp(1024+frac, exp-25)
	}
	if h&0x8000 != 0 {
		f = -f
	}
	return f
}

var boolText = [2][]byte{[]byte("false"), []byte("true")}

// bytesCursor walks the elements of a checked BYTES tensor forward.
type bytesCursor struct{ pos, idx int }

// at returns element i of ts; i must not decrease between calls.
func (c *bytesCursor) at(ts *tensor, i int) []byte {
	for {
		n := int(binary.LittleEndian.Uint32(ts.raw[c.pos:]))
		if c.idx == i {
			s := c.pos + 4
			return ts.raw[s : s+n : s+n]
		}
		c.pos += 4 + n
		c.idx++
	}
}

// binColumn sets vals[r*stride] for rows r < rows to element col of row
// r of binary tensor ts.
func (ts *tensor) binColumn(vals []Value, stride, rows, col int, typ FeatureType, scratch *[]byte) {
	if typ == Numeric && ts.dtype != dtBytes && ts.dtype != dtBool {
		// The common case, written in place.
		for r := range rows {
			f := ts.num(r*ts.per + col)
			v := &vals[r*stride]
			if math.IsNaN(f) || math.IsInf(f, 0) {
				*v = Value{Kind: ValueInvalid, Reason: ReasonNaNInf}
			} else {
				*v = Value{Kind: ValueNumber, Num: f}
			}
		}
		return
	}
	var c bytesCursor
	for r := range rows {
		vals[r*stride] = ts.binValue(&c, r*ts.per+col, typ, scratch)
	}
}

// binValue converts element i of binary tensor ts into a value of type
// typ. Text of numbers goes to scratch.
func (ts *tensor) binValue(c *bytesCursor, i int, typ FeatureType, scratch *[]byte) Value {
	switch ts.dtype {
	case dtBytes:
		if typ == Categorical {
			return Value{Kind: ValueString, Str: c.at(ts, i)}
		}
		return Value{Kind: ValueInvalid, Reason: ReasonWrongType}
	case dtBool:
		b := ts.raw[i]
		if b > 1 {
			return Value{Kind: ValueInvalid, Reason: ReasonWrongType}
		}
		if typ == Categorical {
			return Value{Kind: ValueString, Str: boolText[b]}
		}
		return Value{Kind: ValueNumber, Num: float64(b)}
	}
	f := ts.num(i)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Value{Kind: ValueInvalid, Reason: ReasonNaNInf}
	}
	if typ == Categorical {
		return Value{Kind: ValueString, Str: appendScratch(scratch, ts, i)}
	}
	return Value{Kind: ValueNumber, Num: f}
}

func appendScratch(scratch *[]byte, ts *tensor, i int) []byte {
	start := len(*scratch)
	*scratch = ts.appendText(*scratch, i)
	return (*scratch)[start:len(*scratch):len(*scratch)]
}

// binPrediction reads row of binary output ts: one element is a scalar,
// several are class scores.
func (r *ResponseDecoder) binPrediction(ts *tensor, c *bytesCursor, row int) Prediction {
	sc := &r.doc.scratch
	if ts.per == 1 {
		switch ts.dtype {
		case dtBytes:
			return Prediction{Kind: PredictionLabel, Text: c.at(ts, row)}
		case dtBool:
			b := ts.raw[row]
			if b > 1 {
				return Prediction{Kind: PredictionInvalid, Reason: ReasonWrongType}
			}
			return Prediction{Kind: PredictionBool, Num: float64(b), Text: boolText[b]}
		}
		f := ts.num(row)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return Prediction{Kind: PredictionInvalid, Reason: ReasonNaNInf}
		}
		return Prediction{Kind: PredictionNumber, Num: f, Text: appendScratch(sc, ts, row)}
	}
	if ts.per == 0 || ts.dtype == dtBytes || ts.dtype == dtBool {
		return Prediction{Kind: PredictionInvalid, Reason: ReasonWrongType}
	}
	best, bestI := math.Inf(-1), -1
	for i := range ts.per {
		f := ts.num(row*ts.per + i)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return Prediction{Kind: PredictionInvalid, Reason: ReasonNaNInf}
		}
		if f > best {
			best, bestI = f, i
		}
	}
	return Prediction{Kind: PredictionScores, Num: best, Class: bestI}
}
