package perf

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// maxQuoted is how much of a bad label an error repeats.
const maxQuoted = 64

// ParseLabel reads one JSON label value. Binary: 0, 1, true, false, "0",
// "1", or one of Classes when it has two names (index 1 is positive).
// Categorical: a class name or an integer index into Classes; an unknown
// name is an error naming it. Numeric: a finite number. The error says what
// was expected and what came.
func (s *Spec) ParseLabel(raw []byte) (float64, error) {
	v := trimJSONSpace(raw)
	if len(v) == 0 {
		return 0, fmt.Errorf("empty label: want %s", s.labelWant())
	}
	switch v[0] {
	case '"':
		str, err := jsonString(v)
		if err != nil {
			return 0, fmt.Errorf("cannot read label %s: %w", quote(v), err)
		}
		return s.labelFromString(str, v)
	case 't', 'f':
		if s.Kind == Binary && string(v) == "true" {
			return 1, nil
		}
		if s.Kind == Binary && string(v) == "false" {
			return 0, nil
		}
	default:
		if isJSONNumber(v) {
			return s.labelFromNumber(v)
		}
	}
	return 0, s.badLabel(v)
}

func (s *Spec) labelFromString(str, v []byte) (float64, error) {
	if s.Kind == Binary && len(s.Classes) == 0 {
		switch string(str) {
		case "0":
			return 0, nil
		case "1":
			return 1, nil
		}
	}
	if s.Kind != Numeric {
		for i, c := range s.Classes {
			if string(str) == c {
				return float64(i), nil
			}
		}
	}
	if s.Kind == Categorical {
		return 0, fmt.Errorf("unknown class %s: want %s", quote(v), s.labelWant())
	}
	return 0, s.badLabel(v)
}

func (s *Spec) labelFromNumber(v []byte) (float64, error) {
	x, err := strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsInf(x, 0) {
		return 0, fmt.Errorf("label %s is not a finite number: want %s", quote(v), s.labelWant())
	}
	switch s.Kind {
	case Numeric:
		return x, nil
	case Binary:
		if x == 0 || x == 1 {
			return x, nil
		}
	case Categorical:
		if x == math.Trunc(x) && x >= 0 && x < float64(len(s.Classes)) {
			return x, nil
		}
	}
	return 0, s.badLabel(v)
}

func (s *Spec) badLabel(v []byte) error {
	return fmt.Errorf("bad %s label %s: want %s", s.Kind, quote(v), s.labelWant())
}

func (s *Spec) labelWant() string {
	switch s.Kind {
	case Binary:
		if len(s.Classes) == 2 {
			return fmt.Sprintf("0, 1, true, false, %q or %q", s.Classes[0], s.Classes[1])
		}
		return `0, 1, true, false, "0" or "1"`
	case Categorical:
		return fmt.Sprintf("a class name or an index below %d", len(s.Classes))
	default:
		return "a finite number"
	}
}

// quote repeats at most maxQuoted bytes of a raw value.
func quote(v []byte) string {
	if len(v) > maxQuoted {
		return string(v[:maxQuoted]) + "…"
	}
	return string(v)
}

func trimJSONSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// jsonString decodes a JSON string literal: a plain one in place, without
// allocating; one with escapes through encoding/json.
func jsonString(v []byte) ([]byte, error) {
	if len(v) >= 2 && v[len(v)-1] == '"' {
		body := v[1 : len(v)-1]
		if !slices.ContainsFunc(body, func(c byte) bool { return c == '\\' || c == '"' || c < 0x20 }) {
			return body, nil
		}
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("cannot decode string: %w", err)
	}
	return []byte(s), nil
}

// isJSONNumber reports whether v is a JSON number:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func isJSONNumber(v []byte) bool {
	i := 0
	digits := func() int {
		j := i
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(v) && v[i] == '-' {
		i++
	}
	switch {
	case i < len(v) && v[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(v) && v[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(v)
}
