package perf

import "fmt"

// Kind is the type of a label.
type Kind uint8

// Kinds of labels.
const (
	// Binary labels are 0 or 1; the model gives a score P(positive).
	Binary Kind = iota + 1
	// Categorical labels are one of a fixed list of classes.
	Categorical
	// Numeric labels are real numbers (regression).
	Numeric
)

var kindNames = [...]string{Binary: "binary", Categorical: "categorical", Numeric: "numeric"}

// ParseKind reads "binary", "categorical" or "numeric".
func ParseKind(s string) (Kind, error) {
	for k, name := range kindNames {
		if name != "" && name == s {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown label kind %q: want binary, categorical or numeric", s)
}

// String returns the name ParseKind reads, or "Kind(n)" for an unknown kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// classification reports whether predictions are right or wrong (not a
// distance).
func (k Kind) classification() bool { return k == Binary || k == Categorical }
