package payload

import (
	"fmt"
	"strconv"
	"strings"
)

// A path selects values in a JSON document, e.g. "instances[*].income",
// "data.features[*][3]", `$.inputs["my key"][*]`. A leading "$" or "$." is
// optional. Segments are .key, [index], ["key"] and [*]; at most one [*]
// is allowed and it ranges over the rows.

type segKind uint8

const (
	segKey segKind = iota + 1
	segIndex
	segWild
)

type pathSeg struct {
	kind segKind
	key  string
	idx  int
	hint uint32 // last pair index of key, see tape.field
}

type jsonPath struct {
	src  string
	pre  []pathSeg // before [*], or the whole path without [*]
	post []pathSeg // after [*]
	wild bool
}

// ParsePath checks the syntax of a JSON path as used in FeatureSpec.Path.
func ParsePath(s string) error {
	_, err := parsePath(s)
	return err
}

func parsePath(s string) (*jsonPath, error) {
	p := &jsonPath{src: s}
	in := s
	if strings.HasPrefix(in, "$") {
		in = in[1:]
		in = strings.TrimPrefix(in, ".")
	}
	if in == "" {
		return nil, fmt.Errorf("path %q: empty", s)
	}
	first := true
	var segs []pathSeg
	for len(in) > 0 {
		switch {
		case in[0] == '[':
			end := strings.IndexByte(in, ']')
			if end < 0 {
				return nil, fmt.Errorf("path %q: missing ]", s)
			}
			inner := in[1:end]
			switch {
			case inner == "*":
				if p.wild {
					return nil, fmt.Errorf("path %q: more than one [*]", s)
				}
				p.wild = true
				p.pre = segs
				segs = nil
			case strings.HasPrefix(inner, `"`):
				// Quoted key; find the closing quote honouring escapes.
				q, err := strconv.QuotedPrefix(in[1:])
				if err != nil {
					return nil, fmt.Errorf("path %q: bad quoted key: %w", s, err)
				}
				if len(in) < 1+len(q)+1 || in[1+len(q)] != ']' {
					return nil, fmt.Errorf("path %q: missing ] after quoted key", s)
				}
				key, err := strconv.Unquote(q)
				if err != nil {
					return nil, fmt.Errorf("path %q: bad quoted key: %w", s, err)
				}
				segs = append(segs, pathSeg{kind: segKey, key: key})
				end = 1 + len(q)
			default:
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("path %q: bad index [%s]", s, inner)
				}
				segs = append(segs, pathSeg{kind: segIndex, idx: n})
			}
			in = in[end+1:]
		case in[0] == '.' || first:
			if in[0] == '.' {
				in = in[1:]
			}
			end := strings.IndexAny(in, ".[")
			if end < 0 {
				end = len(in)
			}
			if end == 0 {
				return nil, fmt.Errorf("path %q: empty key", s)
			}
			segs = append(segs, pathSeg{kind: segKey, key: in[:end]})
			in = in[end:]
		default:
			return nil, fmt.Errorf("path %q: unexpected %q", s, in[:1])
		}
		first = false
	}
	if p.wild {
		p.post = segs
	} else {
		p.pre = segs
	}
	return p, nil
}

type evalResult uint8

const (
	evalOK evalResult = iota
	evalAbsent
	evalWrongType
)

// eval follows segs from node n.
func (t *tape) eval(n uint32, segs []pathSeg, scratch *[]byte) (uint32, evalResult) {
	for i := range segs {
		sg := &segs[i]
		nd := &t.nodes[n]
		if nd.kind == kindNull {
			return 0, evalAbsent
		}
		switch sg.kind {
		case segKey:
			if nd.kind != kindObject {
				return 0, evalWrongType
			}
			v, ok := t.field(n, sg.key, &sg.hint, scratch)
			if !ok {
				return 0, evalAbsent
			}
			n = v
		case segIndex:
			if nd.kind != kindArray {
				return 0, evalWrongType
			}
			v, ok := t.index(n, sg.idx)
			if !ok {
				return 0, evalAbsent
			}
			n = v
		}
	}
	return n, evalOK
}
