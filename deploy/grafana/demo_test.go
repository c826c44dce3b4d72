package grafana

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/demo"
	"github.com/driftcar/driftcar/internal/testutil"
)

// TestDashboardAgainstDemo starts a real Prometheus (Debian package
// prometheus) scraping a running demo, with driftcar's recording and
// alert rules loaded, and checks that every PromQL expression of the
// Grafana dashboard, variables filled in, returns data.
func TestDashboardAgainstDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo and Prometheus for about a minute")
	}
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus is not installed; .ci/run installs the Debian package")
		}
		t.Skip("prometheus not installed")
	}
	admin := testutil.FreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	demoDone := make(chan error, 1)
	go func() {
		_, err := demo.Run(ctx, demo.Options{
			Rate: 150, Duration: 0, DriftAt: 10 * time.Second, Seed: 5,
			Listen: "127.0.0.1:0", Admin: admin, Out: io.Discard, CalibrationTicks: 20000,
		})
		demoDone <- err
	}()
	defer func() {
		cancel()
		if err := <-demoDone; err != nil {
			t.Errorf("demo: %v", err)
		}
	}()

	rules, err := filepath.Abs("../prometheus/rules")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: [%q, %q]
scrape_configs:
  - job_name: driftcar
    static_configs: [{ targets: [%q] }]
`, filepath.Join(rules, "driftcar-recording.yml"), filepath.Join(rules, "driftcar-alerts.yml"), admin)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	web := testutil.FreePort(t)
	cmd := exec.Command(prom, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web, "--log.level=warn")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := "http://" + web

	qs, err := Queries(readDashboard(t), map[string]string{
		"model": "credit-demo", "route": "predict", "feature": "age", "__range": "5m",
	})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	// Give the demo time to inject drift, the drift tests to confirm it and
	// the rate windows to fill; then every query must have data.
	// Ground-truth queries need data only once the demo exports the series
	// they read (groundTruthSeries).
	start := time.Now()
	var missing []string
	skipped := 0
	if !testutil.Poll(90*time.Second, 2*time.Second, func() bool {
		missing, skipped = missing[:0], 0
		present := map[string]bool{}
		for _, q := range qs {
			if !requiredNow(t, client, base, q, present) {
				skipped++
				continue
			}
			if n, err := instantQuery(client, base, q); err != nil || n == 0 {
				missing = append(missing, fmt.Sprintf("%v: %s", err, q))
			}
		}
		return len(missing) == 0 && time.Since(start) > 25*time.Second
	}) {
		t.Fatalf("%d of %d dashboard queries return no data after 90s:\n%s\nprometheus log:\n%s",
			len(missing), len(qs), strings.Join(missing, "\n"), logs.String())
	}
	t.Logf("%d of %d dashboard queries returned data; %d ground-truth queries skipped, their series not exported", len(qs)-skipped, len(qs), skipped)
}
