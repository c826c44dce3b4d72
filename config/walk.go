package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// visitBudget bounds the nodes a walk of size bytes of YAML may visit.
// Without aliases a walk visits each node once, and a node takes at least
// a byte; the slack lets aliases repeat parts of the document, while aliases
// that expand exponentially ("billion laughs") fail fast.
func visitBudget(size int) int { return 16*size + 4096 }

const (
	tagNull  = "!!null"
	tagBool  = "!!bool"
	tagInt   = "!!int"
	tagFloat = "!!float"
	tagMerge = "!!merge"
)

var (
	unmarshalerType     = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// walker checks a YAML node tree against a Go type before it is decoded.
// It reports unknown fields, duplicate keys, wrong kinds and scalars that
// do not decode into their field, each with its path and line, and it
// records the line of every value the input sets. Types that decode
// themselves (yaml.Unmarshaler, encoding.TextUnmarshaler) are treated as
// scalars and checked by decoding them.
//
// The walker is at least as strict as yaml.v3's decoder: when it reports
// nothing, decoding the same tree into the same type succeeds.
type walker struct {
	lines  lineIndex
	errs   Errors
	active map[*yaml.Node]bool // anchored nodes being walked, to stop cycles
	visits int
	budget int // the most visits allowed
}

func newWalker(budget int) *walker {
	return &walker{lines: lineIndex{}, active: map[*yaml.Node]bool{}, budget: budget}
}

func (w *walker) fail(p *fieldPath, line int, format string, args ...any) {
	w.errs = append(w.errs, &FieldError{Path: p.String(), Line: line, Msg: fmt.Sprintf(format, args...)})
}

// visit counts one visit and reports whether the walk may go on.
func (w *walker) visit() bool {
	w.visits++
	if w.visits == w.budget {
		w.fail(rootPath, 0, "config contains excessive aliasing")
	}
	return w.visits < w.budget
}

// value checks n, the value at p, against t. keyLine is the line to record
// for a mapping or list value: the line of its key, or of its own "-".
func (w *walker) value(n *yaml.Node, t reflect.Type, p *fieldPath, keyLine int) {
	if !w.visit() {
		return
	}
	v := n
	if n.Kind == yaml.AliasNode {
		v = n.Alias
		if w.active[v] {
			w.fail(p, n.Line, "alias *%s refers to itself", n.Value)
			return
		}
		w.active[v] = true
		defer delete(w.active, v)
	}
	if isNull(v) {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v.Kind == yaml.ScalarNode {
		keyLine = n.Line
	}
	w.lines[p.String()] = keyLine

	switch {
	case decodesItself(t):
		if err := v.Decode(reflect.New(t).Interface()); err != nil {
			w.fail(p, n.Line, "%s", yamlMessage(err))
		}
	case t.Kind() == reflect.Struct || t.Kind() == reflect.Map:
		if v.Kind != yaml.MappingNode {
			w.fail(p, n.Line, "must be a mapping, got %s", describe(v))
			return
		}
		w.mapping(v, t, p)
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		if v.Kind != yaml.SequenceNode {
			w.fail(p, n.Line, "must be a list, got %s", describe(v))
			return
		}
		if t.Kind() == reflect.Array && len(v.Content) != t.Len() {
			w.fail(p, n.Line, "must be a list of %d items, got %d", t.Len(), len(v.Content))
			return
		}
		w.sequence(v, t, p)
	case t.Kind() == reflect.Interface:
		// Anything decodes into an interface.
	default:
		w.scalar(v, t, p, n.Line)
	}
}

// mapping checks the entries of n, a mapping node, against t, a struct or
// map type. It first walks the mappings merged in with "<<", so that the
// lines of explicit keys, which override merged ones, win.
func (w *walker) mapping(n *yaml.Node, t reflect.Type, p *fieldPath) {
	var merge *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if isMerge(n.Content[i]) {
			merge = n.Content[i+1]
		}
	}
	if merge != nil {
		w.merge(merge, t, p)
	}

	var fields structFields
	keyType := reflect.TypeFor[string]()
	if t.Kind() == reflect.Struct {
		fields = fieldsOf(t)
	} else {
		keyType = t.Key()
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name, ok := w.key(k, keyType, p)
		if !ok {
			continue
		}
		if first, dup := seen[name]; dup {
			w.fail(p.key(name), k.Line, "duplicate key, first at line %d", first)
			continue
		}
		seen[name] = k.Line
		if isMerge(k) {
			continue
		}
		if t.Kind() == reflect.Map {
			w.value(v, t.Elem(), p.key(name), k.Line)
			continue
		}
		ft, ok := fields.byName[name]
		if !ok {
			ft = fields.inlineMap
		}
		if ft == nil {
			w.fail(p.key(name), k.Line, "unknown field")
			continue
		}
		w.value(v, ft, p.key(name), k.Line)
	}
}

// merge walks the value of a "<<" key: a mapping, an alias of one, or a
// list of those, as yaml.v3 accepts.
func (w *walker) merge(n *yaml.Node, t reflect.Type, p *fieldPath) {
	sources := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		sources = n.Content
	}
	for _, src := range sources {
		m := src
		if src.Kind == yaml.AliasNode {
			m = src.Alias
		}
		if m.Kind != yaml.MappingNode {
			w.fail(p.key("<<"), src.Line, "merge value must be a mapping or a list of mappings, got %s", describe(m))
			continue
		}
		if w.active[m] {
			w.fail(p.key("<<"), src.Line, "alias *%s refers to itself", src.Value)
			continue
		}
		if !w.visit() {
			return
		}
		w.active[m] = true
		w.mapping(m, t, p)
		delete(w.active, m)
	}
}

// key returns the mapping key k as a string, as yaml.v3 decodes the names
// of struct fields, and checks that it decodes into keyType.
func (w *walker) key(k *yaml.Node, keyType reflect.Type, p *fieldPath) (string, bool) {
	v := k
	if k.Kind == yaml.AliasNode {
		v = k.Alias
	}
	var s string
	if v.Kind != yaml.ScalarNode || v.Decode(&s) != nil {
		w.fail(p, k.Line, "keys must be scalars, got %s", describe(v))
		return "", false
	}
	switch {
	case decodesItself(keyType):
		if err := v.Decode(reflect.New(keyType).Interface()); err != nil {
			w.fail(p.key(s), k.Line, "%s", yamlMessage(err))
			return "", false
		}
	case keyType.Kind() != reflect.String:
		before := len(w.errs)
		w.scalar(v, keyType, p.key(s), k.Line)
		return s, len(w.errs) == before
	}
	return s, true
}

// sequence checks the items of n, a list node, against the slice type t.
// A null item is an error: yaml.v3 would drop it and shift the indexes.
func (w *walker) sequence(n *yaml.Node, t reflect.Type, p *fieldPath) {
	for i, item := range n.Content {
		ip := p.index(i)
		v := item
		if item.Kind == yaml.AliasNode {
			v = item.Alias
		}
		if isNull(v) {
			w.fail(ip, item.Line, "must be %s, got null", expected(t.Elem()))
			continue
		}
		w.value(item, t.Elem(), ip, item.Line)
	}
}

// scalar checks that v decodes into the basic type t without loss: an
// integer field takes only integers, not 1.5 (which yaml.v3 truncates).
func (w *walker) scalar(v *yaml.Node, t reflect.Type, p *fieldPath, line int) {
	if v.Kind != yaml.ScalarNode {
		w.fail(p, line, "must be %s, got %s", expected(t), describe(v))
		return
	}
	tag := v.ShortTag()
	ok := true
	switch t.Kind() {
	case reflect.Bool:
		ok = tag == tagBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		ok = tag == tagInt
	case reflect.Float32, reflect.Float64:
		ok = tag == tagFloat || tag == tagInt
	}
	if !ok || v.Decode(reflect.New(t).Interface()) != nil {
		w.fail(p, line, "must be %s, got %s", expected(t), describe(v))
	}
}

// structFields are the YAML keys of a struct type.
type structFields struct {
	byName    map[string]reflect.Type
	inlineMap reflect.Type // element type of an ",inline" map, which takes any other key
}

// fieldsOf reads the yaml tags of the struct type t the way yaml.v3 does:
// the name is the tag or the lowercased field name, "-" skips a field, and
// ",inline" lifts the fields of a struct or the entries of a map.
func fieldsOf(t reflect.Type) structFields {
	fs := structFields{byName: map[string]reflect.Type{}}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "" && !strings.Contains(string(f.Tag), ":") {
			tag = string(f.Tag)
		}
		if tag == "-" {
			continue
		}
		name, flags, _ := strings.Cut(tag, ",")
		if strings.Contains(","+flags+",", ",inline,") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Map:
				fs.inlineMap = ft.Elem()
			case reflect.Struct:
				inner := fieldsOf(ft)
				for k, v := range inner.byName {
					fs.byName[k] = v
				}
				if inner.inlineMap != nil {
					fs.inlineMap = inner.inlineMap
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fs.byName[name] = f.Type
	}
	return fs
}

// decodesItself reports whether t has its own YAML or text decoding.
func decodesItself(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(unmarshalerType) || pt.Implements(unmarshalerType) || pt.Implements(textUnmarshalerType)
}

// isMerge reports whether k is a "<<" merge key, with yaml.v3's rule.
func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!" || k.Tag == tagMerge)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == tagNull
}

// describe names what the input holds, for "got ..." in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "alias *" + n.Value
	}
	if isNull(n) {
		return "null"
	}
	return strconv.Quote(n.Value)
}

// expected names what a field of type t takes, for "must be ..." in messages.
func expected(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return expected(t.Elem())
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a value"
}

// yamlMessage returns the message of an error from a yaml.v3 decode,
// without the "yaml: " and "line N: " prefixes that a FieldError replaces.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			_, msgs[i] = splitLine(m)
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// splitLine splits "line 14: msg" into 14 and "msg"; without the prefix it
// returns 0 and s.
func splitLine(s string) (int, string) {
	rest, ok := strings.CutPrefix(s, "line ")
	if !ok {
		return 0, s
	}
	num, msg, ok := strings.Cut(rest, ": ")
	line, err := strconv.Atoi(num)
	if !ok || err != nil {
		return 0, s
	}
	return line, msg
}
