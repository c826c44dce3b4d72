package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestSidecarDoesNotLinkBenchmarks checks that the sidecar binary links no
// benchmark code and no plotting: they belong to driftcar-bench.
func TestSidecarDoesNotLinkBenchmarks(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/driftcar/driftcar/proxy") {
		t.Fatalf("go list -deps lacks the proxy package; got %d packages", len(deps))
	}
	for _, d := range deps {
		if forbiddenDep(d) {
			t.Errorf("cmd/driftcar links %s", d)
		}
	}
}

// forbiddenDep reports whether the sidecar must not link package p.
func forbiddenDep(p string) bool {
	return strings.HasPrefix(p, "gonum.org/v1/plot") ||
		strings.HasPrefix(p, "github.com/driftcar/driftcar/bench/") ||
		p == "github.com/driftcar/driftcar/internal/driftbench"
}

func TestForbiddenDep(t *testing.T) {
	for p, want := range map[string]bool{
		"gonum.org/v1/plot":                                true,
		"gonum.org/v1/plot/vg/draw":                        true,
		"github.com/driftcar/driftcar/bench/soak":          true,
		"github.com/driftcar/driftcar/bench/harness":       true,
		"github.com/driftcar/driftcar/bench/drift":         true,
		"github.com/driftcar/driftcar/internal/driftbench": true,
		"gonum.org/v1/gonum/stat/distuv":                   false,
		"github.com/driftcar/driftcar/detector/stat":       false,
		"github.com/driftcar/driftcar/proxy":               false,
	} {
		if got := forbiddenDep(p); got != want {
			t.Errorf("forbiddenDep(%q) = %v; want %v", p, got, want)
		}
	}
}

// TestBenchPointsToDriftcarBench checks that `driftcar bench` says where
// the benchmarks went, in one line, and fails.
func TestBenchPointsToDriftcarBench(t *testing.T) {
	var out, errOut strings.Builder
	if code := runMain([]string{"bench", "proxy", "--short"}, &out, &errOut); code != 2 {
		t.Errorf("exit %d; want 2", code)
	}
	if got := errOut.String(); !strings.Contains(got, "driftcar-bench") || strings.Count(got, "\n") != 1 || out.Len() != 0 {
		t.Errorf("got stdout %q, stderr %q; want one line naming driftcar-bench on stderr", out.String(), got)
	}
}
