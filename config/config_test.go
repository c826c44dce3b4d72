package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(validBase), 0o600); err != nil {
		t.Fatal(err)
	}
	c, raw, err := Load(good)
	if err != nil {
		t.Fatalf("Load: got error %v; want nil", err)
	}
	if string(raw) != validBase || c.Model != "m" {
		t.Errorf("Load: got model %q and %d bytes; want model \"m\" and the file's %d bytes", c.Model, len(raw), len(validBase))
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("model: [m]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, raw, err = Load(bad)
	want := `cannot load config "` + bad + `":` + "\nmodel: must be a string, got a list (line 1)"
	if err == nil || err.Error() != want {
		t.Errorf("Load(bad): got %v; want %s", err, want)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Path != "model" || fe.Line != 1 {
		t.Errorf("Load(bad): errors.As *FieldError: got %+v; want path model, line 1", fe)
	}
	if string(raw) != "model: [m]\n" {
		t.Errorf("Load(bad): got raw %q; want the file's bytes", raw)
	}

	_, _, err = Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "cannot read config ") {
		t.Errorf("Load(missing): got %v; want a wrapped fs.ErrNotExist", err)
	}
}

func TestFieldErrorString(t *testing.T) {
	tests := []struct {
		err  FieldError
		want string
	}{
		{err: FieldError{Path: "routes[0].name", Line: 8, Msg: "required"}, want: "routes[0].name: required (line 8)"},
		{err: FieldError{Path: "routes", Msg: "at least one route is required"}, want: "routes: at least one route is required"},
		{err: FieldError{Line: 3, Msg: "invalid YAML: x"}, want: "invalid YAML: x (line 3)"},
		{err: FieldError{Msg: "config is empty"}, want: "config is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

// TestMissingTopLevelHasNoLine checks that a required top-level field the
// input leaves out is reported without a line.
func TestMissingTopLevelHasNoLine(t *testing.T) {
	_, err := Parse([]byte("model: m\n"))
	want := "upstreams: at least one upstream is required\nroutes: at least one route is required"
	if err == nil || err.Error() != want {
		t.Errorf("Parse: got %v; want %s", err, want)
	}
}

func TestSummary(t *testing.T) {
	c, err := Parse([]byte(`model: credit-risk
upstreams:
  live: { address: 127.0.0.1:8501 }
  canary: { address: 127.0.0.1:8502 }
routes:
  - name: health
    match: { path_prefix: /health }
    split: [{ upstream: live, weight: 1 }]
  - name: predict
    split:
      - { upstream: live, weight: 90 }
      - { upstream: canary, weight: 10 }
`))
	if err != nil {
		t.Fatal(err)
	}
	want := "ok: model credit-risk, listen 0.0.0.0:8080, 2 upstreams, 2 routes (health: live 1; predict: live 90, canary 10)"
	if got := c.Summary(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	c, err = Parse([]byte("upstreams: {m: {address: \"m:1\"}}\nroutes: [{name: all, split: [{upstream: m, weight: 1}]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want = "ok: model model, listen 0.0.0.0:8080, 1 upstream, 1 route (all: m 1)"
	if got := c.Summary(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.Listen != "0.0.0.0:8080" || c.Admin != "127.0.0.1:9901" || c.Model != "model" ||
		c.MaxRequestBody != 16<<20 || c.DrainTimeout.String() != "20s" || c.Upstreams != nil || c.Routes != nil {
		t.Errorf("got %s; want the documented defaults and no upstreams or routes", c.JSON())
	}
}

// TestParseConcurrent runs Parse from many goroutines; go test -race
// checks the package keeps no shared mutable state.
func TestParseConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := Parse([]byte(validBase)); err != nil {
				t.Errorf("Parse: %v", err)
			}
		})
	}
	wg.Wait()
}

// TestEmptyRoutingBase: the base file of an xDS sidecar holds no routing,
// so rules that look at routes wait for the merged config.
func TestEmptyRoutingBase(t *testing.T) {
	base := "listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nmodel: m\ncanary_guard: { min_requests: 100 }\n"
	if _, err := ParseWith([]byte(base), ParseOptions{AllowEmptyRouting: true}); err != nil {
		t.Errorf("xDS base with canary_guard: %v", err)
	}
	_, err := Parse([]byte(base))
	if err == nil || !strings.Contains(err.Error(), "upstreams") {
		t.Errorf("the same file without AllowEmptyRouting: got %v; want the missing routing named", err)
	}
	oneArm := base + "upstreams: { live: { address: 127.0.0.1:1 } }\nroutes: [{ name: r, split: [{ upstream: live, weight: 1 }] }]\n"
	_, err = ParseWith([]byte(oneArm), ParseOptions{AllowEmptyRouting: true})
	if err == nil || !strings.Contains(err.Error(), "canary_guard: needs a route with a canary") {
		t.Errorf("routes without a canary: got %v; want the canary_guard error", err)
	}
}
