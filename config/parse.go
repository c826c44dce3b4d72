package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"

	"go.yaml.in/yaml/v3"
)

// Load reads the YAML config at path and parses it with Parse. It also
// returns the bytes it read, so that a reloader can skip unchanged input.
func Load(path string) (*Config, []byte, error) {
	return LoadWith(path, ParseOptions{})
}

// Parse decodes one YAML document strictly, fills the defaults and
// validates the result. It reports problems as Errors, each with its field
// path and line, in two stages: first every problem of structure (YAML
// syntax, unknown fields, duplicate keys, values of the wrong kind or
// type); then, if there were none, every broken validation rule.
func Parse(data []byte) (*Config, error) {
	return ParseWith(data, ParseOptions{})
}

// ParseOptions relax Parse for special sources.
type ParseOptions struct {
	// AllowEmptyRouting accepts a config without upstreams or routes: the
	// base file of a sidecar whose routing comes from an xDS control plane.
	AllowEmptyRouting bool
}

// LoadWith is Load with options.
func LoadWith(path string, o ParseOptions) (*Config, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read config %q: %w", path, err)
	}
	c, err := ParseWith(data, o)
	if err != nil {
		return nil, data, fmt.Errorf("cannot load config %q:\n%w", path, err)
	}
	return c, data, nil
}

// ParseWith is Parse with options.
func ParseWith(data []byte, o ParseOptions) (*Config, error) {
	root, err := parseDocument(data)
	if err != nil {
		return nil, err
	}
	w := newWalker(visitBudget(len(data)))
	w.mapping(root, reflect.TypeFor[Config](), rootPath)
	if err := w.errs.orNil(); err != nil {
		return nil, err
	}
	c := new(Config)
	if err := root.Decode(c); err != nil {
		return nil, decodeError(err, w.lines)
	}
	applyDefaults(c, w.lines)
	if err := validate(c, w.lines, o).orNil(); err != nil {
		return nil, err
	}
	return c, nil
}

// parseDocument returns the top-level mapping of the only document in data.
func parseDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{Msg: "config is empty"}}
		}
		return nil, syntaxError(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, Errors{{Line: next.Line, Msg: "config must be one YAML document, found a second one"}}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(err)
	}
	if len(doc.Content) != 1 || isNull(doc.Content[0]) {
		return nil, Errors{{Msg: "config is empty"}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, Errors{{Line: root.Line, Msg: "config must be a mapping, got " + describe(root)}}
	}
	return root, nil
}

// syntaxError turns "yaml: line 3: mapping values are not allowed in this
// context" into a FieldError on line 3.
func syntaxError(err error) error {
	line, msg := splitLine(yamlMessage(err))
	if parserProblems[msg] {
		line++
	}
	return Errors{{Line: line, Msg: "invalid YAML: " + msg}}
}

// parserProblems are the messages of yaml.v3's parser, as opposed to its
// scanner. yaml.v3 gives the line of a parser error 0-based (and leaves out
// line 0), while scanner errors have 1-based lines.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found duplicate %TAG directive":         true,
	"found incompatible YAML document":       true,
}

// decodeError turns the errors of a yaml.v3 decode, which carry only a
// line, into FieldErrors with the path found on that line. The walker
// reports problems before decoding, so this only runs when the walker
// misses one, for example with a field type it does not know.
func decodeError(err error, lines lineIndex) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("cannot decode config: %w", err)
	}
	errs := make(Errors, len(te.Errors))
	for i, m := range te.Errors {
		line, msg := splitLine(m)
		errs[i] = &FieldError{Path: lines.pathAt(line), Line: line, Msg: msg}
	}
	return errs.orNil()
}
