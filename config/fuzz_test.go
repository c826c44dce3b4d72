package config

import (
	"errors"
	"os"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
	"golang.org/x/tools/txtar"
)

// FuzzParse checks that Parse never panics, that it fails only with
// Errors, that the walker catches everything yaml.v3's decoder would reject,
// and that a parsed config survives a YAML round trip unchanged.
func FuzzParse(f *testing.F) {
	for _, file := range goldenFiles(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		in, _ := section(txtar.Parse(data), "config.yaml")
		f.Add([]byte(in))
	}
	f.Add([]byte(validBase))
	f.Add([]byte(withPrediction + "ground_truth: { label: { type: binary, classes: [] } }\n"))
	f.Add([]byte("a: &a {<<: *a}\n"))
	f.Add([]byte("upstreams: {live: &l {address: 'a:1', <<: [*l]}}\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("Parse error: got %T %q; want non-empty Errors", err, err)
			}
			_ = err.Error()
			checkWalkerCoversDecoder(t, data)
			return
		}

		_ = c.Summary()
		_ = c.JSON()
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("yaml.Marshal(parsed config): %v", err)
		}
		c2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(yaml.Marshal(c)): got error %v; want nil\ninput:\n%s\nre-marshaled:\n%s", err, data, out)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip changed the config:\nfirst  %s\nsecond %s", c.JSON(), c2.JSON())
		}
	})
}

// checkWalkerCoversDecoder fails if the walker accepts a document that
// yaml.v3 cannot decode into a Config: then Parse would fall back to the
// less precise line-only errors of decodeError.
func checkWalkerCoversDecoder(t *testing.T, data []byte) {
	t.Helper()
	root, err := parseDocument(data)
	if err != nil {
		return
	}
	w := newWalker(visitBudget(len(data)))
	w.mapping(root, reflect.TypeFor[Config](), rootPath)
	if len(w.errs) > 0 {
		return
	}
	if err := root.Decode(new(Config)); err != nil {
		t.Fatalf("walker accepted a document that yaml.v3 rejects: %v\ninput:\n%s", err, data)
	}
}
