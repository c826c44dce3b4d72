package harness

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// tinyOptions is a run of a few seconds: 300 ms per measurement.
func tinyOptions(t *testing.T, scenarios ...string) Options {
	t.Helper()
	o := DefaultOptions(true)
	o.Mode = ModeInProcess
	o.Scenarios = scenarios
	o.Rates = []float64{400}
	o.TableRate = 400
	o.Duration = 300 * time.Millisecond
	o.Warmup = 100 * time.Millisecond
	o.Settle = 0
	o.Conns = 4
	o.ShadowDelay = 50 * time.Millisecond
	o.OutDir = t.TempDir()
	return o
}

// TestRunInProcess runs the shadow scenarios for real, briefly, and checks
// that each measured something and that its taps did their work.
func TestRunInProcess(t *testing.T) {
	testRunInProcess(t, Direct, Driftcar, DriftcarShadow, DriftcarSlowShadow)
}

// TestRunInProcessSampling runs the sampling scenarios. Each one waits for
// its first drift evaluation, which calibrates the drift thresholds: a
// second of CPU, but tens of seconds under the race detector, so that run
// skips it (TestDriftcarConfigsParse still checks the configs).
func TestRunInProcessSampling(t *testing.T) {
	if raceEnabled {
		t.Skip("drift calibration is too slow under the race detector")
	}
	testRunInProcess(t, Direct, DriftcarSample, DriftcarAll)
}

func testRunInProcess(t *testing.T, scenarios ...string) {
	t.Helper()
	o := tinyOptions(t, scenarios...)
	o.Rounds = 1
	var progress bytes.Buffer
	o.Progress = &progress
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Scenarios) != len(scenarios) {
		t.Fatalf("%d scenarios; want %d", len(rep.Scenarios), len(scenarios))
	}
	for _, s := range rep.Scenarios {
		if s.Skipped != "" || s.Max == nil || s.Max.Achieved <= 0 || len(s.Sweep) != 1 {
			t.Errorf("%s: %+v", s.Name, s)
			continue
		}
		p := s.Sweep[0]
		if p.Skipped != "" || p.Requests < 100 || p.Latency.P50 <= 0 {
			t.Errorf("%s at 400/s: %+v", s.Name, p)
		}
		if s.Failed != 0 {
			t.Errorf("%s: %d failed", s.Name, s.Failed)
		}
		if s.Kind == KindDriftcar && (p.CPUPer1k == nil || !p.CPUEstimated || s.PeakRSSMiB != nil) {
			t.Errorf("%s: cpu %v estimated %v rss %v; want an in-process estimate and no RSS", s.Name, p.CPUPer1k, p.CPUEstimated, s.PeakRSSMiB)
		}
	}
	taps := func(name, key string) float64 {
		s := rep.Scenario(name)
		if s == nil {
			return -1 // not in this run
		}
		var v float64
		for k, x := range s.Taps {
			if strings.HasPrefix(k, key) {
				v += x
			}
		}
		return v
	}
	if taps(DriftcarShadow, `driftcar_shadow_requests_total{result="ok"}`) == 0 {
		t.Errorf("driftcar+shadow compared nothing: %v", rep.Scenario(DriftcarShadow).Taps)
	}
	if taps(DriftcarSample, "driftcar_sampler_rows_total") == 0 {
		t.Errorf("driftcar+sample sampled nothing: %v", rep.Scenario(DriftcarSample).Taps)
	}
	if taps(DriftcarAll, `driftcar_requests_total{arm="canary"`) == 0 {
		t.Errorf("driftcar+all sent nothing to the canary: %v", rep.Scenario(DriftcarAll).Taps)
	}
	if last := scenarios[len(scenarios)-1]; !strings.Contains(progress.String(), "] max throughput, round 1/1: "+last) {
		t.Errorf("progress lacks the steps:\n%s", progress.String())
	}
	paths, err := rep.Write(o.OutDir, "svg")
	if err != nil || len(paths) != 3 {
		t.Fatalf("wrote %v, %v", paths, err)
	}
	if !strings.Contains(rep.Markdown(), "inside the harness process") {
		t.Error("the in-process caveat is missing")
	}
}

func TestRunProxyCLI(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"help", []string{"--help"}, 0, "usage: driftcar-bench proxy"},
		{"bad flag", []string{"--nope"}, 2, "flag provided but not defined"},
		{"argument", []string{"extra"}, 2, "unexpected argument"},
		{"unknown scenario", []string{"--scenarios", "direct,envoy"}, 2, `unknown scenario "envoy"`},
		{"unknown skip", []string{"--skip", "envoy"}, 2, `--skip: unknown scenario "envoy"`},
		{"bad rate", []string{"--rates", "1000,fast"}, 2, `cannot parse "fast"`},
		{"bad mode", []string{"--mode", "remote"}, 2, "mode must be"},
		{"bad protocol", []string{"--protocol", "v3"}, 2, "cannot parse protocol"},
		{"nothing left", []string{"--scenarios", "direct", "--skip", "direct"}, 2, "no scenarios"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := RunProxy(ctx, c.args, &stdout, &stderr); code != c.code {
				t.Errorf("exit %d; want %d (stderr %s)", code, c.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), c.err) {
				t.Errorf("stderr %q lacks %q", stderr.String(), c.err)
			}
		})
	}

	// A real run of the direct path alone, writing no files.
	var stdout, stderr bytes.Buffer
	code := RunProxy(ctx, []string{"--scenarios", "direct", "--rates", "300", "--table-rate", "300", "--duration", "200ms",
		"--warmup", "0s", "--rounds", "1", "--conns", "2", "--settle", "0s", "--out", ""}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"driftcar-bench proxy --scenarios direct", "direct", "300/s p50 / p99 ms"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	if strings.Contains(stdout.String(), "wrote") {
		t.Error("--out \"\" wrote files")
	}
}

func TestRunReadmeCLI(t *testing.T) {
	dir := t.TempDir()
	results := dir + "/results"
	if _, err := fakeReport(t).Write(results, "svg"); err != nil {
		t.Fatal(err)
	}
	readme := dir + "/README.md"
	if err := os.WriteFile(readme, []byte("# x\n\n## Performance\n\nold\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	args := []string{"--readme", readme, "--results", results}
	if code := RunReadme(context.Background(), append(args, "--check"), &out, &errOut); code != 1 {
		t.Errorf("--check on a stale README: exit %d; want 1", code)
	}
	if code := RunReadme(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if code := RunReadme(context.Background(), append(args, "--check"), &out, &errOut); code != 0 {
		t.Errorf("--check after the update: exit %d: %s", code, errOut.String())
	}
	if code := RunReadme(context.Background(), []string{"--results", dir + "/none"}, &out, &errOut); code != 1 {
		t.Errorf("no results: exit %d; want 1", code)
	}
}

// TestRunPeersAndChild runs every scenario with driftcar as a child
// process and the installed peers, briefly. It builds driftcar, so it
// only runs with DRIFTCAR_BENCH_E2E=1.
func TestRunPeersAndChild(t *testing.T) {
	if os.Getenv("DRIFTCAR_BENCH_E2E") == "" {
		t.Skip("set DRIFTCAR_BENCH_E2E=1 to build driftcar and run the peers")
	}
	o := tinyOptions(t, scenarioNames()...)
	o.Mode = ModeChild
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	_, nginxErr := exec.LookPath("nginx")
	for _, s := range rep.Scenarios {
		wantSkip := s.Kind == KindPeer && s.Name != HTTPUtil && nginxErr != nil
		if got := s.Skipped != ""; got != wantSkip {
			t.Errorf("%s: skipped %q; want skipped %v", s.Name, s.Skipped, wantSkip)
		}
		if s.Skipped == "" && s.Kind != KindDirect {
			p := s.Max
			if p == nil || p.CPUPer1k == nil || p.CPUEstimated || s.PeakRSSMiB == nil {
				t.Errorf("%s: max %+v rss %v; want measured CPU and RSS", s.Name, p, s.PeakRSSMiB)
			}
		}
	}
	t.Log("\n" + rep.Text())
}
