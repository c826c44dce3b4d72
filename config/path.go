package config

import "strconv"

// fieldPath is the location of a value in the config, such as
// routes[0].split[1].weight. Each step keeps its parent, so that a problem
// with a field the input left out can borrow the line of the nearest
// ancestor that the input has.
type fieldPath struct {
	parent *fieldPath
	s      string
}

// rootPath is the path of the whole document. It renders as "".
var rootPath = &fieldPath{}

// key returns the path of the mapping entry k below p. Keys other than
// plain words are quoted: upstreams["v1.2"].address.
func (p *fieldPath) key(k string) *fieldPath {
	var s string
	switch {
	case !isPlainKey(k):
		s = p.s + "[" + strconv.Quote(k) + "]"
	case p.s == "":
		s = k
	default:
		s = p.s + "." + k
	}
	return &fieldPath{parent: p, s: s}
}

// index returns the path of the list item i below p.
func (p *fieldPath) index(i int) *fieldPath {
	return &fieldPath{parent: p, s: p.s + "[" + strconv.Itoa(i) + "]"}
}

func (p *fieldPath) String() string { return p.s }

func isPlainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' && r != '-' {
			return false
		}
	}
	return true
}

// lineIndex maps the path of every value the input sets (not null) to its
// line. A path missing from the index was left out of the input.
type lineIndex map[string]int

// has reports whether the input set the value at p.
func (l lineIndex) has(p *fieldPath) bool {
	_, ok := l[p.s]
	return ok
}

// lineOf returns the line of p, or of its nearest ancestor that the input
// has, or 0.
func (l lineIndex) lineOf(p *fieldPath) int {
	for q := p; q != nil; q = q.parent {
		if line, ok := l[q.s]; ok {
			return line
		}
	}
	return 0
}

// pathAt returns the longest path on line, which is usually the most
// specific, for errors that carry only a line. Among paths of equal length
// it returns the first in byte order.
func (l lineIndex) pathAt(line int) string {
	best := ""
	for p, n := range l {
		if n != line {
			continue
		}
		if len(p) > len(best) || len(p) == len(best) && p < best {
			best = p
		}
	}
	return best
}
