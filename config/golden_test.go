package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/*.txtar")

// archive is a txtar file: a comment, then files that each start with a
// "-- name --" line. It is parsed by hand to keep golang.org/x/tools out of
// go.mod.
type archive struct {
	comment string
	names   []string
	files   map[string]string
}

func parseArchive(data string) *archive {
	a := &archive{files: map[string]string{}}
	name, body := "", &a.comment
	for line := range strings.SplitAfterSeq(data, "\n") {
		trimmed := strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(trimmed, "-- ") && strings.HasSuffix(trimmed, " --") && len(trimmed) > 6 {
			if name != "" {
				a.files[name] = *body
			}
			name = strings.TrimSpace(trimmed[3 : len(trimmed)-3])
			a.names = append(a.names, name)
			body = new(string)
			continue
		}
		*body += line
	}
	if name != "" {
		a.files[name] = *body
	}
	return a
}

func (a *archive) format() []byte {
	var b bytes.Buffer
	b.WriteString(a.comment)
	for _, name := range a.names {
		b.WriteString("-- " + name + " --\n")
		b.WriteString(a.files[name])
	}
	return b.Bytes()
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
			a := parseArchive(string(data))
			in, ok := a.files["config.yaml"]
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
				a.names = []string{"config.yaml", wantName}
				a.files = map[string]string{"config.yaml": in, wantName: got}
				if err := os.WriteFile(file, a.format(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, ok := a.files[wantName]
			if !ok {
				t.Fatalf("got %s:\n%s\nbut %s has no %s section (run go test -update)", wantName, got, file, wantName)
			}
			if got != want {
				t.Errorf("%s:\ngot\n%s\nwant\n%s", wantName, got, want)
			}
		})
	}
}
