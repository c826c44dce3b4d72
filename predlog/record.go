package predlog

import (
	"math"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/driftcar/driftcar/internal/payload"
)

// ValueKind says what a Value holds.
type ValueKind uint8

const (
	// KindNull is an absent value; it is written as null.
	KindNull ValueKind = iota
	// KindNumber is a number in Num; NaN and infinities are written as null.
	KindNumber
	// KindString is a string in Str.
	KindString
)

// Value is one feature or prediction value: a number or a string.
type Value struct {
	Kind ValueKind
	Num  float64
	Str  []byte
}

// SetNumber makes v the number f.
func (v *Value) SetNumber(f float64) { v.Kind, v.Num, v.Str = KindNumber, f, v.Str[:0] }

// SetString makes v a copy of s, reusing v's memory.
func (v *Value) SetString(s []byte) { v.Kind, v.Num, v.Str = KindString, 0, append(v.Str[:0], s...) }

// SetPayload makes v a copy of a decoded payload value; a missing or
// invalid one becomes null.
func (v *Value) SetPayload(pv payload.Value) {
	switch pv.Kind {
	case payload.ValueNumber:
		v.SetNumber(pv.Num)
	case payload.ValueString:
		v.SetString(pv.Str)
	default:
		v.SetNull()
	}
}

// SetNull makes v absent.
func (v *Value) SetNull() { v.Kind, v.Num, v.Str = KindNull, 0, v.Str[:0] }

// Field is one named feature value of a row.
type Field struct {
	Name  string
	Value Value
}

// Row is the features of one input row, written as a JSON object.
type Row struct {
	Fields []Field
}

// Add appends a field called name and returns its value to set. The name
// is kept, not copied: pass a string that outlives the record (a config
// name).
func (row *Row) Add(name string) *Value {
	row.Fields = grow(row.Fields)
	f := &row.Fields[len(row.Fields)-1]
	f.Name = name
	f.Value.SetNull()
	return &f.Value
}

// Header is one logged request header.
type Header struct {
	Name  string
	Value []byte
}

// Shadow is the shadow model's side of a mirrored request.
type Shadow struct {
	// Mirrored says the request was mirrored; without it the shadow
	// object is left out.
	Mirrored bool
	// Status is the shadow's HTTP status (0 when it gave none).
	Status int
	// Prediction has one value per row.
	Prediction []Value
	// Outcome is the comparison's result, e.g. "match" or "mismatch".
	Outcome string
}

// AddPrediction appends a shadow prediction and returns it to set.
func (s *Shadow) AddPrediction() *Value { return addValue(&s.Prediction) }

// Record is one logged request; it must not be copied. Get records with Log.Acquire, fill them
// and hand them to Log.Offer; after Offer the record belongs to the log.
// Every []byte field is owned by the record: the setters copy into it.
// String fields are kept as given and must not be changed afterwards.
type Record struct {
	RequestID string
	Time      time.Time
	Model     string
	Route     string
	Arm       string
	// Canary says Arm is a canary arm (endpoint "canary" in CloudEvents).
	Canary         bool
	Status         int
	LatencySeconds float64
	// Features has one row per input row.
	Features []Row
	// Prediction has one value per row.
	Prediction []Value
	Shadow     Shadow
	// RequestBody and ResponseBody are the bodies, already cut by the
	// caller; empty ones are left out.
	RequestBody  []byte
	ResponseBody []byte
	// Error is why the request failed, or empty.
	Error   string
	Headers []Header

	refs atomic.Int32
	size int64
}

// AddRow appends a feature row and returns it to fill, reusing memory of
// earlier rows.
func (r *Record) AddRow() *Row {
	r.Features = grow(r.Features)
	row := &r.Features[len(r.Features)-1]
	row.Fields = row.Fields[:0]
	return row
}

// AddPrediction appends a prediction and returns it to set.
func (r *Record) AddPrediction() *Value { return addValue(&r.Prediction) }

// SetRequestBody copies b into the record.
func (r *Record) SetRequestBody(b []byte) { r.RequestBody = append(r.RequestBody[:0], b...) }

// SetResponseBody copies b into the record.
func (r *Record) SetResponseBody(b []byte) { r.ResponseBody = append(r.ResponseBody[:0], b...) }

// AddHeader appends a header; value is copied, name is kept.
func (r *Record) AddHeader(name string, value []byte) {
	r.Headers = grow(r.Headers)
	h := &r.Headers[len(r.Headers)-1]
	h.Name, h.Value = name, append(h.Value[:0], value...)
}

// Reset clears r and keeps its memory.
func (r *Record) Reset() {
	r.RequestID, r.Time, r.Model, r.Route, r.Arm = "", time.Time{}, "", "", ""
	r.Canary, r.Status, r.LatencySeconds = false, 0, 0
	r.Features = r.Features[:0]
	r.Prediction = r.Prediction[:0]
	r.Shadow.Mirrored, r.Shadow.Status, r.Shadow.Outcome = false, 0, ""
	r.Shadow.Prediction = r.Shadow.Prediction[:0]
	r.RequestBody, r.ResponseBody = r.RequestBody[:0], r.ResponseBody[:0]
	r.Error = ""
	r.Headers = r.Headers[:0]
	r.size = 0
}

// maxPooledBody caps the body memory a pooled record keeps.
const maxPooledBody = 256 << 10

// trim drops oversized buffers before r goes back to the pool.
func (r *Record) trim() {
	if cap(r.RequestBody) > maxPooledBody {
		r.RequestBody = nil
	}
	if cap(r.ResponseBody) > maxPooledBody {
		r.ResponseBody = nil
	}
}

// Size estimates the memory r holds, in bytes; queue byte limits use it.
func (r *Record) Size() int64 {
	n := 256 + len(r.RequestID) + len(r.RequestBody) + len(r.ResponseBody) + len(r.Error)
	for i := range r.Features {
		for j := range r.Features[i].Fields {
			n += 40 + len(r.Features[i].Fields[j].Value.Str)
		}
	}
	for i := range r.Prediction {
		n += 40 + len(r.Prediction[i].Str)
	}
	for i := range r.Shadow.Prediction {
		n += 40 + len(r.Shadow.Prediction[i].Str)
	}
	for i := range r.Headers {
		n += 40 + len(r.Headers[i].Value)
	}
	return int64(n)
}

// Endpoint is the KServe endpoint name of r's arm: "canary" or "default".
func (r *Record) Endpoint() string {
	if r.Canary {
		return "canary"
	}
	return "default"
}

// AppendJSON appends r as one JSON object (no newline) to dst.
func (r *Record) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"request_id":`...)
	dst = appendString(dst, r.RequestID)
	dst = append(dst, `,"time":"`...)
	dst = r.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","model":`...)
	dst = appendString(dst, r.Model)
	dst = append(dst, `,"route":`...)
	dst = appendString(dst, r.Route)
	dst = append(dst, `,"arm":`...)
	dst = appendString(dst, r.Arm)
	if r.Canary {
		dst = append(dst, `,"canary":true`...)
	}
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendInt(dst, int64(r.Status), 10)
	dst = append(dst, `,"latency_seconds":`...)
	dst = appendFloat(dst, r.LatencySeconds)
	dst = append(dst, `,"features":[`...)
	for i := range r.Features {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		for j := range r.Features[i].Fields {
			f := &r.Features[i].Fields[j]
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, f.Name)
			dst = append(dst, ':')
			dst = f.Value.appendJSON(dst)
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `],"prediction":`...)
	dst = appendValues(dst, r.Prediction)
	if r.Shadow.Mirrored {
		dst = append(dst, `,"shadow":{"status":`...)
		dst = strconv.AppendInt(dst, int64(r.Shadow.Status), 10)
		dst = append(dst, `,"prediction":`...)
		dst = appendValues(dst, r.Shadow.Prediction)
		dst = append(dst, `,"outcome":`...)
		dst = appendString(dst, r.Shadow.Outcome)
		dst = append(dst, '}')
	}
	if len(r.RequestBody) > 0 {
		dst = append(dst, `,"request_body":`...)
		dst = appendBytes(dst, r.RequestBody)
	}
	if len(r.ResponseBody) > 0 {
		dst = append(dst, `,"response_body":`...)
		dst = appendBytes(dst, r.ResponseBody)
	}
	if r.Error != "" {
		dst = append(dst, `,"error":`...)
		dst = appendString(dst, r.Error)
	}
	if len(r.Headers) > 0 {
		dst = append(dst, `,"headers":{`...)
		for i := range r.Headers {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, r.Headers[i].Name)
			dst = append(dst, ':')
			dst = appendBytes(dst, r.Headers[i].Value)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

func (v *Value) appendJSON(dst []byte) []byte {
	switch v.Kind {
	case KindNumber:
		return appendFloat(dst, v.Num)
	case KindString:
		return appendBytes(dst, v.Str)
	}
	return append(dst, "null"...)
}

func appendValues(dst []byte, vs []Value) []byte {
	dst = append(dst, '[')
	for i := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = vs[i].appendJSON(dst)
	}
	return append(dst, ']')
}

func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendBytes is appendString for a byte slice, without a copy.
func appendBytes(dst, b []byte) []byte {
	return appendString(dst, unsafe.String(unsafe.SliceData(b), len(b)))
}

// grow extends s by one element, reusing the element's old memory when
// the capacity allows.
func grow[T any](s []T) []T {
	if len(s) < cap(s) {
		return s[:len(s)+1]
	}
	var zero T
	return append(s, zero)
}

func addValue(s *[]Value) *Value {
	*s = grow(*s)
	v := &(*s)[len(*s)-1]
	v.SetNull()
	return v
}
