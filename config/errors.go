package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// FieldError is one problem in a config, located by the path of the field
// and, when known, by the line of the YAML input.
type FieldError struct {
	// Path locates the field, such as "routes[0].split[1].weight". It is
	// empty for problems with the document as a whole.
	Path string
	// Line is the 1-based line of the YAML input, or 0 when unknown.
	Line int
	// Msg describes the problem.
	Msg string
}

// Error returns "path: msg (line N)", leaving out the parts that are unknown.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	return b.String()
}

// Errors holds every problem found in one config, sorted by line. Parse
// and Validate return a non-empty Errors or nil.
type Errors []*FieldError

// Error returns one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, so errors.As can find a *FieldError.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// sortByLine orders es by line, keeping the order of equal lines. Problems
// without a line come first.
func (es Errors) sortByLine() {
	slices.SortStableFunc(es, func(a, b *FieldError) int { return cmp.Compare(a.Line, b.Line) })
}

// orNil returns es sorted, or a nil error when es is empty, so that callers
// never see a non-nil error interface holding an empty list.
func (es Errors) orNil() error {
	if len(es) == 0 {
		return nil
	}
	es.sortByLine()
	return es
}
