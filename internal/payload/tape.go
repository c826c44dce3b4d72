package payload

import (
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// This file holds a small allocation-free JSON scanner. It parses a whole
// document into a flat "tape" of nodes kept in reused scratch slices, so a
// Decoder parses each body once and then navigates it by index. In steady
// state (documents no larger than ones seen before) it allocates nothing.
//
// Beyond RFC 8259 it accepts the tokens NaN, Infinity and -Infinity that
// Python's json module writes, as numbers flagged nanInf.

type nodeKind uint8

const (
	kindNull nodeKind = iota + 1
	kindFalse
	kindTrue
	kindNumber
	kindString
	kindArray
	kindObject
)

const (
	flagEscaped uint8 = 1 << iota // string holds backslash escapes
	flagNaNInf                    // NaN, Infinity or -Infinity literal
)

// node is one JSON value. For strings, [start,end) is the content between
// the quotes; for numbers, the token. For arrays and objects, n is the
// number of elements (objects: key/value pairs, stored as alternating key
// and value nodes). next is the index of the node after this subtree.
type node struct {
	kind       nodeKind
	flags      uint8
	start, end uint32
	next       uint32
	n          uint32
}

type parseErr uint8

const (
	parseOK parseErr = iota
	parseMalformed
	parseTooDeep
)

// tape is a parsed document. It is owned by one goroutine.
type tape struct {
	buf      []byte
	nodes    []node
	stack    []uint32
	maxDepth int
}

// maxDocLen bounds a document so that offsets fit in uint32.
const maxDocLen = math.MaxUint32 - 1

func (t *tape) parse(b []byte) parseErr {
	t.buf = b
	t.nodes = t.nodes[:0]
	t.stack = t.stack[:0]
	if len(b) > maxDocLen {
		return parseMalformed
	}
	i := skipWS(b, 0)
	if i >= len(b) {
		return parseMalformed
	}
	for {
		// Parse one value at b[i].
		if i >= len(b) {
			return parseMalformed
		}
		c := b[i]
		idx := uint32(len(t.nodes))
		switch {
		case c == '{' || c == '[':
			if len(t.stack) >= t.maxDepth {
				return parseTooDeep
			}
			k := kindArray
			if c == '{' {
				k = kindObject
			}
			t.nodes = append(t.nodes, node{kind: k, start: uint32(i)})
			t.stack = append(t.stack, idx)
			i = skipWS(b, i+1)
			if i < len(b) && (b[i] == '}' && k == kindObject || b[i] == ']' && k == kindArray) {
				// Empty container.
				t.closeTop(i)
				i++
				break
			}
			if k == kindObject {
				var ok bool
				if i, ok = t.key(b, i); !ok {
					return parseMalformed
				}
			}
			continue
		case c == '"':
			end, esc, ok := scanString(b, i+1)
			if !ok {
				return parseMalformed
			}
			var fl uint8
			if esc {
				fl = flagEscaped
			}
			t.nodes = append(t.nodes, node{kind: kindString, flags: fl, start: uint32(i + 1), end: uint32(end), next: idx + 1})
			i = end + 1
		case c == '-' || c >= '0' && c <= '9':
			if c == '-' && hasPrefix(b, i+1, "Infinity") {
				t.nodes = append(t.nodes, node{kind: kindNumber, flags: flagNaNInf, start: uint32(i), end: uint32(i + 9), next: idx + 1})
				i += 9
				break
			}
			end, ok := scanNumber(b, i)
			if !ok {
				return parseMalformed
			}
			t.nodes = append(t.nodes, node{kind: kindNumber, start: uint32(i), end: uint32(end), next: idx + 1})
			i = end
		case c == 't' && hasPrefix(b, i, "true"):
			t.nodes = append(t.nodes, node{kind: kindTrue, start: uint32(i), end: uint32(i + 4), next: idx + 1})
			i += 4
		case c == 'f' && hasPrefix(b, i, "false"):
			t.nodes = append(t.nodes, node{kind: kindFalse, start: uint32(i), end: uint32(i + 5), next: idx + 1})
			i += 5
		case c == 'n' && hasPrefix(b, i, "null"):
			t.nodes = append(t.nodes, node{kind: kindNull, start: uint32(i), end: uint32(i + 4), next: idx + 1})
			i += 4
		case c == 'N' && hasPrefix(b, i, "NaN"):
			t.nodes = append(t.nodes, node{kind: kindNumber, flags: flagNaNInf, start: uint32(i), end: uint32(i + 3), next: idx + 1})
			i += 3
		case c == 'I' && hasPrefix(b, i, "Infinity"):
			t.nodes = append(t.nodes, node{kind: kindNumber, flags: flagNaNInf, start: uint32(i), end: uint32(i + 8), next: idx + 1})
			i += 8
		default:
			return parseMalformed
		}
		// After a value: a separator or the end of containers.
		for {
			if len(t.stack) == 0 {
				if skipWS(b, i) != len(b) {
					return parseMalformed
				}
				return parseOK
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return parseMalformed
			}
			top := &t.nodes[t.stack[len(t.stack)-1]]
			if b[i] == ',' {
				top.n++
				i = skipWS(b, i+1)
				if top.kind == kindObject {
					var ok bool
					if i, ok = t.key(b, i); !ok {
						return parseMalformed
					}
				}
				break
			}
			if top.kind == kindObject && b[i] != '}' || top.kind == kindArray && b[i] != ']' {
				return parseMalformed
			}
			top.n++
			t.closeTop(i)
			i++
		}
	}
}

// closeTop closes the innermost open container at b[i].
func (t *tape) closeTop(i int) {
	top := &t.nodes[t.stack[len(t.stack)-1]]
	top.end = uint32(i + 1)
	top.next = uint32(len(t.nodes))
	t.stack = t.stack[:len(t.stack)-1]
}

// key parses `"key" :` at b[i] and returns the index after the colon and
// any whitespace.
func (t *tape) key(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	end, esc, ok := scanString(b, i+1)
	if !ok {
		return i, false
	}
	var fl uint8
	if esc {
		fl = flagEscaped
	}
	idx := uint32(len(t.nodes))
	t.nodes = append(t.nodes, node{kind: kindString, flags: fl, start: uint32(i + 1), end: uint32(end), next: idx + 1})
	i = skipWS(b, end+1)
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	return skipWS(b, i+1), true
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func hasPrefix(b []byte, i int, s string) bool {
	return len(b)-i >= len(s) && string(b[i:i+len(s)]) == s
}

// scanString scans string content starting after the opening quote and
// returns the index of the closing quote.
func scanString(b []byte, i int) (end int, escaped, ok bool) {
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i, escaped, true
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return 0, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return 0, false, false
				}
				for _, h := range b[i+2 : i+6] {
					if hexVal(h) < 0 {
						return 0, false, false
					}
				}
				i += 6
			default:
				return 0, false, false
			}
		case c < 0x20:
			return 0, false, false
		default:
			i++
		}
	}
	return 0, false, false
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// scanNumber checks the JSON number grammar at b[i] and returns its end.
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return i, false
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return i, false
		}
	}
	return i, true
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseNumber converts a token that scanNumber accepted. It returns
// ok=false for values that are not finite (overflow). The fast path is
// exact: a mantissa below 2^53 and a power of ten up to 22 are both exact
// in float64, so one IEEE division or multiplication rounds correctly.
func parseNumber(tok []byte) (float64, bool) {
	i := 0
	neg := false
	if i < len(tok) && tok[i] == '-' {
		neg = true
		i++
	}
	var mant uint64
	digits := 0
	for ; i < len(tok) && tok[i] >= '0' && tok[i] <= '9'; i++ {
		mant = mant*10 + uint64(tok[i]-'0')
		digits++
	}
	frac := 0
	if i < len(tok) && tok[i] == '.' {
		i++
		for ; i < len(tok) && tok[i] >= '0' && tok[i] <= '9'; i++ {
			mant = mant*10 + uint64(tok[i]-'0')
			digits++
			frac++
		}
	}
	if i == len(tok) && digits <= 15 && frac <= 22 {
		f := float64(mant)
		if frac > 0 {
			f /= pow10[frac]
		}
		if neg {
			f = -f
		}
		return f, true
	}
	// Slow path: exponents and long mantissas.
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(tok), len(tok)), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// raw returns the bytes of node i: string content (still escaped) or the
// token.
func (t *tape) raw(i uint32) []byte {
	n := &t.nodes[i]
	return t.buf[n.start:n.end]
}

// str returns the unescaped content of string node i. It returns the
// content in place when it holds no escapes, and otherwise appends the
// unescaped bytes to *scratch.
func (t *tape) str(i uint32, scratch *[]byte) []byte {
	n := &t.nodes[i]
	s := t.buf[n.start:n.end]
	if n.flags&flagEscaped == 0 {
		return s
	}
	start := len(*scratch)
	*scratch = unescape(*scratch, s)
	return (*scratch)[start:len(*scratch):len(*scratch)]
}

// keyEquals reports whether string node i equals key.
func (t *tape) keyEquals(i uint32, key string, scratch *[]byte) bool {
	n := &t.nodes[i]
	if n.flags&flagEscaped == 0 {
		return string(t.buf[n.start:n.end]) == key
	}
	save := len(*scratch)
	eq := string(t.str(i, scratch)) == key
	*scratch = (*scratch)[:save]
	return eq
}

// field returns the value node of key in object node obj, or 0 and false.
// hint is the pair index where the key was found last time; it is tried
// first and updated.
func (t *tape) field(obj uint32, key string, hint *uint32, scratch *[]byte) (uint32, bool) {
	o := &t.nodes[obj]
	if o.kind != kindObject || o.n == 0 {
		return 0, false
	}
	// Fast path: the key sits where it sat in the previous object.
	if hint != nil && *hint < o.n {
		k := obj + 1
		for j := uint32(0); j < *hint; j++ {
			k = t.nodes[k+1].next
		}
		if t.keyEquals(k, key, scratch) {
			return k + 1, true
		}
	}
	// Slow path: scan every key.
	k := obj + 1
	for j := uint32(0); j < o.n; j++ {
		if t.keyEquals(k, key, scratch) {
			if hint != nil {
				*hint = j
			}
			return k + 1, true
		}
		k = t.nodes[k+1].next
	}
	return 0, false
}

// index returns element j of array node arr.
func (t *tape) index(arr uint32, j int) (uint32, bool) {
	a := &t.nodes[arr]
	if a.kind != kindArray || j < 0 || uint32(j) >= a.n {
		return 0, false
	}
	e := arr + 1
	for ; j > 0; j-- {
		e = t.nodes[e].next
	}
	return e, true
}

// unescape appends the unescaped form of JSON string content s to dst.
// s has been validated by scanString.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch s[i+1] {
		case '"', '\\', '/':
			dst = append(dst, s[i+1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hex4(s[i+2:]))
			i += 6
			if r >= 0xD800 && r < 0xDC00 && i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
				r2 := rune(hex4(s[i+2:]))
				if r2 >= 0xDC00 && r2 < 0xE000 {
					r = (r-0xD800)<<10 + (r2 - 0xDC00) + 0x10000
					i += 6
				} else {
					r = utf8.RuneError
				}
			} else if r >= 0xD800 && r < 0xE000 {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		}
		i += 2
	}
	return dst
}

func hex4(b []byte) int {
	return hexVal(b[0])<<12 | hexVal(b[1])<<8 | hexVal(b[2])<<4 | hexVal(b[3])
}
