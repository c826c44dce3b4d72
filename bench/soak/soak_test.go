package soak

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/driftcar/driftcar/internal/testupstream"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testupstream.GoleakOptions...)
}

func TestGrowthComparesTheSecondAndLastQuarters(t *testing.T) {
	var samples []Sample
	for i := range 100 {
		at := time.Duration(i) * time.Second
		v := 100.0
		if at < 30*time.Second { // warm-up: ignored
			v = 10
		}
		if at >= 30*time.Second+3*time.Minute/4*70/60 { // last quarter of the 70 s measured
			v = 110
		}
		samples = append(samples, Sample{At: at, RSS: int64(v)})
	}
	g := growth(samples, 30*time.Second, 70*time.Second, func(s Sample) float64 { return float64(s.RSS) })
	if g.Q2 != 100 || g.Q4 != 110 || g.Ratio < 0.0999 || g.Ratio > 0.1001 {
		t.Errorf("got %+v; want Q2 100, Q4 110, ratio 0.1", g)
	}
	if g := growth(nil, 0, time.Minute, func(s Sample) float64 { return 1 }); g.Q2 != 0 || g.Ratio != 0 {
		t.Errorf("no samples: got %+v", g)
	}
}

// TestShortSoakUnderRace runs the whole soak briefly against a driftcar
// built with -race, at a low rate: the race detector watches config
// changes from both sources, faults and drift at once, and every count
// must reconcile. Flatness needs the long run (make soak).
func TestShortSoakUnderRace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds driftcar with -race and runs it for 20 s")
	}
	bin := filepath.Join(t.TempDir(), "driftcar")
	build := exec.Command("go", "build", "-race", "-o", bin, "../../cmd/driftcar")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("cannot build driftcar: %v", err)
	}
	var progress strings.Builder
	rep, err := Run(context.Background(), Options{
		Binary: bin, Duration: 16 * time.Second, Warmup: 2 * time.Second, Rate: 400, Conns: 32,
		Interval: 500 * time.Millisecond, ChangeEvery: time.Second, DriftPeriod: 4 * time.Second, BurstPeriod: 6 * time.Second,
		Dir: t.TempDir(), Progress: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	md := string(rep.Markdown("go test", ""))
	for _, c := range rep.Checks {
		switch {
		case c.Kind == "accounting", c.Kind == "criterion" && !strings.Contains(c.Name, "growth"):
			if !c.OK {
				t.Errorf("%s: got %s; want %s", c.Name, c.Got, c.Want)
			}
		}
	}
	if rep.Changes.Pushes < 5 || rep.Changes.Reloads < 5 {
		t.Errorf("config changes: %d pushes, %d reloads; want at least 5 of each", rep.Changes.Pushes, rep.Changes.Reloads)
	}
	if st := rep.Stubs; st.ShadowInjected["reset"] == 0 || st.ShadowInjected["slow"] == 0 || st.CanaryInjected == 0 {
		t.Errorf("faults not injected: %+v", st)
	}
	if len(rep.Samples) < 20 {
		t.Errorf("got %d samples; want one every 500ms", len(rep.Samples))
	}
	if _, err := rep.PlotSVG(); err != nil {
		t.Errorf("plot: %v", err)
	}
	if t.Failed() {
		t.Logf("report:\n%s\nprogress:\n%s", md, progress.String())
	}
}
