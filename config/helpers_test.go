package config

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// yamlTypeError returns the *yaml.TypeError of decoding "w: abc" on line 11
// into v.
func yamlTypeError(t *testing.T, v any) error {
	t.Helper()
	err := yaml.Unmarshal([]byte(strings.Repeat("\n", 10)+"w: abc\n"), v)
	if err == nil {
		t.Fatal("yaml.Unmarshal: got nil error; want a type error")
	}
	return err
}
