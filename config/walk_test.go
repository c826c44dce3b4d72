package config

import (
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// walkTestConfig has the shapes that later config sections may use, to
// check that the walker follows yaml tags generically.
type walkTestConfig struct {
	Embedded `yaml:",inline"`
	Ptr      *walkTestInner             `yaml:"ptr"`
	Items    []*walkTestInner           `yaml:"items"`
	ByName   map[string][]walkTestInner `yaml:"by_name"`
	ByCode   map[int]string             `yaml:"by_code"`
	Pair     [2]int                     `yaml:"pair"`
	Any      any                        `yaml:"any"`
	Wait     Duration                   `yaml:"wait"`
	Skipped  string                     `yaml:"-"`
	Untagged int
	Ratio    float64 `yaml:"ratio,omitempty"`
	hidden   int
}

type Embedded struct {
	Flat string `yaml:"flat"`
}

type walkTestInner struct {
	Name  string            `yaml:"name"`
	Extra map[string]string `yaml:",inline"`
}

func TestWalkerGeneric(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "every shape, valid",
			in: `flat: a
ptr: { name: p, anything: goes }
items: [{ name: i }]
by_name: { x: [{ name: y }] }
by_code: { 200: ok }
pair: [1, 2]
any: { whatever: [1, 2] }
wait: 5s
untagged: 3
ratio: 1
`,
		},
		{
			name: "unknown and wrong fields at every depth",
			in: `flatt: a
ptr: { name: [p] }
items: [{ name: i }, ~]
by_name: { x: [{ name: { y: 1 } }] }
by_code: { ok: ok }
pair: [1]
wait: 5
-: skipped
hidden: 1
ratio: x
`,
			want: `flatt: unknown field (line 1)
ptr.name: must be a string, got a list (line 2)
items[1]: must be a mapping, got null (line 3)
by_name.x[0].name: must be a string, got a mapping (line 4)
by_code.ok: must be an integer, got "ok" (line 5)
pair: must be a list of 2 items, got 1 (line 6)
wait: must have a unit such as "s" or "ms", got "5" (line 7)
-: unknown field (line 8)
hidden: unknown field (line 9)
ratio: must be a number, got "x" (line 10)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.in), &doc); err != nil {
				t.Fatal(err)
			}
			w := newWalker(visitBudget(len(tc.in)))
			w.mapping(doc.Content[0], reflect.TypeFor[walkTestConfig](), rootPath)
			got := ""
			if err := w.errs.orNil(); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Fatalf("walker errors:\ngot\n%s\nwant\n%s", got, tc.want)
			}
			if got == "" {
				var c walkTestConfig
				if err := doc.Decode(&c); err != nil {
					t.Errorf("decode after a clean walk: got %v; want nil", err)
				}
				if c.Flat != "a" || c.Ptr.Extra["anything"] != "goes" || c.hidden != 0 {
					t.Errorf("decode: got %+v; want flat a, ptr.anything goes, hidden 0", c)
				}
			}
		})
	}
}
