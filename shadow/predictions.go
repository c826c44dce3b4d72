package shadow

import (
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

type elemKind uint8

const (
	elemNumber elemKind = iota + 1
	elemLabel
	elemScores // class scores; compared by argmax
)

// element is one prediction: a number, a label, or a class-score vector.
type element struct {
	kind   elemKind
	num    float64 // the number, or the top score
	label  []byte  // valid until the parser is reused
	argmax int
}

// decoder extracts predictions from a response body. It reuses its parser
// and slices, so it is owned by one goroutine.
type decoder struct {
	protocol Protocol
	path     []pathStep
	parser   fastjson.Parser
	elems    []element
}

type pathStep struct {
	key   string
	index int // -1: not an index step
}

// parsePath turns "result.scores" or "outputs[0].data" into steps.
func parsePath(path string) []pathStep {
	var steps []pathStep
	for _, part := range strings.Split(path, ".") {
		for part != "" {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				steps = append(steps, pathStep{key: part, index: -1})
				break
			}
			if i > 0 {
				steps = append(steps, pathStep{key: part[:i], index: -1})
			}
			j := strings.IndexByte(part, ']')
			if j < i {
				steps = append(steps, pathStep{key: part, index: -1})
				break
			}
			n, err := strconv.Atoi(part[i+1 : j])
			if err != nil {
				n = -2 // never matches
			}
			steps = append(steps, pathStep{index: n})
			part = part[j+1:]
		}
	}
	return steps
}

// decode parses body and returns its predictions, or ok=false when the
// body has none in the expected shape.
func (d *decoder) decode(body []byte) (elems []element, ok bool) {
	d.elems = d.elems[:0]
	v, err := d.parser.ParseBytes(body)
	if err != nil {
		return nil, false
	}
	switch d.protocol {
	case OpenInferenceV2:
		ok = d.fromV2(v)
	case JSON:
		v = d.follow(v)
		if v == nil {
			return nil, false
		}
		if v.Type() == fastjson.TypeArray {
			ok = d.fromArray(v)
		} else {
			ok = d.appendValue(v)
		}
	default:
		p := v.Get("predictions")
		ok = p != nil && d.fromArray(p)
	}
	return d.elems, ok
}

func (d *decoder) follow(v *fastjson.Value) *fastjson.Value {
	for _, s := range d.path {
		if v == nil {
			return nil
		}
		if s.index >= 0 {
			arr, err := v.Array()
			if err != nil || s.index >= len(arr) {
				return nil
			}
			v = arr[s.index]
			continue
		}
		v = v.Get(s.key)
	}
	return v
}

func (d *decoder) fromArray(v *fastjson.Value) bool {
	arr, err := v.Array()
	if err != nil {
		return false
	}
	for _, x := range arr {
		if !d.appendValue(x) {
			return false
		}
	}
	return true
}

// appendValue adds one prediction: a number, a string label, a one-number
// array (a number) or a longer array of numbers (class scores).
func (d *decoder) appendValue(x *fastjson.Value) bool {
	switch x.Type() {
	case fastjson.TypeNumber:
		d.elems = append(d.elems, element{kind: elemNumber, num: x.GetFloat64()})
	case fastjson.TypeString:
		d.elems = append(d.elems, element{kind: elemLabel, label: x.GetStringBytes()})
	case fastjson.TypeArray:
		scores, _ := x.Array()
		return d.appendScores(scores)
	default:
		return false
	}
	return true
}

func (d *decoder) appendScores(scores []*fastjson.Value) bool {
	if len(scores) == 0 {
		return false
	}
	e := element{kind: elemScores, argmax: -1}
	for i, s := range scores {
		if s.Type() != fastjson.TypeNumber {
			return false
		}
		if f := s.GetFloat64(); e.argmax < 0 || f > e.num {
			e.num, e.argmax = f, i
		}
	}
	if len(scores) == 1 {
		e.kind = elemNumber
	}
	d.elems = append(d.elems, e)
	return true
}

// fromV2 reads Open Inference v2 outputs[]: each output's data, row-major.
// A [N, k] numeric output with k > 1 is N class-score vectors; anything
// else is one prediction per element.
func (d *decoder) fromV2(v *fastjson.Value) bool {
	outs, err := v.Get("outputs").Array()
	if err != nil || len(outs) == 0 {
		return false
	}
	for _, out := range outs {
		data, err := out.Get("data").Array()
		if err != nil {
			return false
		}
		shape, _ := out.Get("shape").Array()
		size := 1
		for _, dim := range shape {
			n, err := dim.Int()
			if err != nil || n < 0 {
				return false
			}
			size *= n
		}
		if len(shape) > 0 && size != len(data) {
			return false
		}
		if len(shape) == 2 {
			rows, cols := shape[0].GetInt(), shape[1].GetInt()
			if cols > 1 && rows > 0 {
				for r := range rows {
					if !d.appendScores(data[r*cols : (r+1)*cols]) {
						return false
					}
				}
				continue
			}
		}
		for _, x := range data {
			if x.Type() == fastjson.TypeArray || !d.appendValue(x) {
				return false
			}
		}
	}
	return true
}
