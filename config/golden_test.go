package config

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/*.txtar")

// section returns the data of the named file of a, and whether it exists.
func section(a *txtar.Archive, name string) (string, bool) {
	for _, f := range a.Files {
		if f.Name == name {
			return string(f.Data), true
		}
	}
	return "", false
}

// goldenFiles returns testdata/*.txtar, each holding config.yaml and either
// want.json (the normalized config) or want.err (the exact error text).
func goldenFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.txtar"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no testdata/*.txtar: %v", err)
	}
	return files
}

func TestGolden(t *testing.T) {
	for _, file := range goldenFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			a := txtar.Parse(data)
			in, ok := section(a, "config.yaml")
			if !ok {
				t.Fatalf("%s has no config.yaml section", file)
			}

			wantName, got := "want.json", ""
			if c, err := Parse([]byte(in)); err != nil {
				wantName, got = "want.err", err.Error()+"\n"
			} else {
				got = string(c.JSON())
			}

			if *update {
				a.Files = []txtar.File{{Name: "config.yaml", Data: []byte(in)}, {Name: wantName, Data: []byte(got)}}
				if err := os.WriteFile(file, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, ok := section(a, wantName)
			if !ok {
				t.Fatalf("got %s:\n%s\nbut %s has no %s section (run go test -update)", wantName, got, file, wantName)
			}
			if got != want {
				t.Errorf("%s:\ngot\n%s\nwant\n%s", wantName, got, want)
			}
		})
	}
}
