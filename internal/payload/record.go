package payload

import (
	"fmt"
	"strconv"
)

// FieldKind says what a Record field holds.
type FieldKind uint8

// Field kinds.
const (
	FieldAbsent FieldKind = iota
	FieldNull
	FieldNumber
	// FieldNaNInf is one of the tokens NaN, Infinity and -Infinity.
	FieldNaNInf
	FieldString
	FieldTrue
	FieldFalse
	// FieldOther is an array or an object.
	FieldOther
)

// Field is one value of a Record.
type Field struct {
	Kind FieldKind
	// Text is the number's token, "true" or "false", or the unescaped
	// string. It is valid until the next Parse.
	Text []byte
	// Num is the number; Finite is false when it overflows float64.
	Num    float64
	Finite bool
}

// Record reads single values by path from one JSON object at a time, for
// line-oriented input such as JSON Lines training data. It is owned by
// one goroutine; in steady state Parse and Field do not allocate.
type Record struct {
	t       tape
	paths   []*jsonPath
	scratch []byte
}

// KeyPath returns the path that selects the top-level key k, whatever
// characters k holds.
func KeyPath(k string) string { return "[" + strconv.Quote(k) + "]" }

// NewRecord returns a Record reading paths, none of which may hold [*].
func NewRecord(paths []string) (*Record, error) {
	r := &Record{t: tape{maxDepth: 64}}
	for _, s := range paths {
		p, err := parsePath(s)
		if err != nil {
			return nil, err
		}
		if p.wild {
			return nil, fmt.Errorf("path %q: [*] is not allowed here", s)
		}
		r.paths = append(r.paths, p)
	}
	return r, nil
}

// Parse reads doc, which must be a JSON object. It returns
// ErrMalformedJSON, ErrTooDeep or, for a document that is not an object,
// ErrWrongType.
func (r *Record) Parse(doc []byte) error {
	r.scratch = r.scratch[:0]
	switch r.t.parse(doc) {
	case parseMalformed:
		return ErrMalformedJSON
	case parseTooDeep:
		return ErrTooDeep
	}
	if r.t.nodes[0].kind != kindObject {
		return ErrWrongType
	}
	return nil
}

// Field returns the value of path i in the last parsed document.
func (r *Record) Field(i int) Field {
	t := &r.t
	n, res := t.eval(0, r.paths[i].pre, &r.scratch)
	if res != evalOK {
		return Field{Kind: FieldAbsent}
	}
	nd := &t.nodes[n]
	switch nd.kind {
	case kindNull:
		return Field{Kind: FieldNull}
	case kindNumber:
		if nd.flags&flagNaNInf != 0 {
			return Field{Kind: FieldNaNInf, Text: t.raw(n)}
		}
		x, ok := parseNumber(t.raw(n))
		return Field{Kind: FieldNumber, Text: t.raw(n), Num: x, Finite: ok}
	case kindString:
		return Field{Kind: FieldString, Text: t.str(n, &r.scratch)}
	case kindTrue:
		return Field{Kind: FieldTrue, Text: t.raw(n)}
	case kindFalse:
		return Field{Kind: FieldFalse, Text: t.raw(n)}
	}
	return Field{Kind: FieldOther}
}
