package grafana

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftcar/driftcar/internal/testutil"
)

// startPrometheus runs the prometheus binary prom, scraping target every
// second and evaluating ruleFiles, until the test ends. It returns its
// web address and its log.
func startPrometheus(t *testing.T, prom, target string, ruleFiles ...string) (string, *strings.Builder) {
	t.Helper()
	dir := t.TempDir()
	promCfg := filepath.Join(dir, "prometheus.yml")
	rules := ""
	if len(ruleFiles) > 0 {
		rules = fmt.Sprintf("rule_files: [%q]\n", strings.Join(ruleFiles, `", "`))
	}
	testutil.WriteFile(t, promCfg, fmt.Sprintf(`global: { scrape_interval: 1s, evaluation_interval: 1s }
%sscrape_configs:
  - job_name: driftcar
    static_configs: [{ targets: [%q] }]
`, rules, target))
	web := testutil.FreePort(t)
	cmd := exec.Command(prom, "--config.file="+promCfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web, "--log.level=warn")
	logs := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return web, logs
}
