package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/driftcar/driftcar/internal/controlplane"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

func fleetConfig(live, canary string, liveWeight, canaryWeight int) string {
	return fmt.Sprintf(`model: credit-risk
upstreams:
  live:   { address: %s }
  canary: { address: %s }
routes:
  - name: predict
    match: { path_prefix: /v1/models/credit }
    split:
      - { upstream: live,   weight: %d }
      - { upstream: canary, weight: %d }
    sticky: { header: x-user-id }
`, live, canary, liveWeight, canaryWeight)
}

// TestBinaryFollowsTheControlPlane runs the driftcar binary with --xds
// against the bundled control plane: a base file with only listen, admin
// and model, routing from a fleet file, a change pushed within a second,
// and an invalid file that keeps the last good config serving.
func TestBinaryFollowsTheControlPlane(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", "{}"))
	canary := testupstream.Start(t, testupstream.Answer("canary", "{}"))
	fleet := t.TempDir()
	testutil.WriteFile(t, filepath.Join(fleet, "pod-a.yaml"), fleetConfig(live, canary, 100, 0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cp, err := controlplane.New(controlplane.Options{Listen: "127.0.0.1:0", Admin: "127.0.0.1:0", Dir: fleet, Logger: zap.NewNop(), PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cpDone := make(chan error, 1)
	go func() { cpDone <- cp.Serve(ctx) }()
	defer func() { cancel(); <-cpDone }()

	base := filepath.Join(t.TempDir(), "base.yaml")
	testutil.WriteFile(t, base, "listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nmodel: credit-risk\n")
	p := startBinaryArgs(t, "run", "--config", base, "--xds", cp.Addr(), "--node-id", "pod-a", "--node-cluster", "fleet")
	testutil.Eventually(t, 10*time.Second, "ready after the first xDS config", func() bool {
		resp, err := http.Get("http://" + p.admin + "/readyz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == 200
	})
	if got := p.served(t, "u1"); got != "live" {
		t.Fatalf("served by %q; want live", got)
	}
	if v := p.metric(t, `driftcar_xds_connected{model="credit-risk"}`); v != "1" {
		t.Errorf("driftcar_xds_connected: got %q; want 1", v)
	}

	pushed := time.Now()
	testutil.WriteFile(t, filepath.Join(fleet, "pod-a.yaml"), fleetConfig(live, canary, 0, 100))
	testutil.Eventually(t, 5*time.Second, "the pushed split is followed", func() bool { return p.served(t, "u1") == "canary" })
	if took := time.Since(pushed); took > 2*time.Second {
		t.Errorf("the push took %s to reach traffic; want about a second", took)
	}

	testutil.WriteFile(t, filepath.Join(fleet, "pod-a.yaml"), fleetConfig(live, canary, 0, 0))
	testutil.Eventually(t, 5*time.Second, "the control plane sees the invalid file", func() bool {
		files := cp.Files()
		return len(files) == 1 && files[0].Error != ""
	})
	if got := p.served(t, "u1"); got != "canary" {
		t.Errorf("after an invalid fleet file: served by %q; want canary (last good config)", got)
	}

	// SIGHUP re-reads the base file under the xDS state.
	testutil.WriteFile(t, base, "listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nmodel: credit-risk\ndrain_timeout: 7s\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "SIGHUP applies the new base", func() bool {
		return strings.Contains(p.get(t, "/api/config"), `"drain_timeout": "7s"`)
	})
	if got := p.served(t, "u1"); got != "canary" {
		t.Errorf("after a base reload: served by %q; want canary (the xDS split kept)", got)
	}
	testutil.WriteFile(t, base, "listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nmodel: credit-risk\ndrain_timeout: soon\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "an invalid base sets reload_successful to 0", func() bool {
		return p.metric(t, `driftcar_config_last_reload_successful{model="credit-risk"}`) == "0"
	})
	if got, cfg := p.served(t, "u1"), p.get(t, "/api/config"); got != "canary" || !strings.Contains(cfg, `"drain_timeout": "7s"`) {
		t.Errorf("after an invalid base: served by %q, config %s; want canary and the last good base", got, cfg)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-p.exited; err != nil {
		t.Errorf("exit: %v", err)
	}
}

func TestControlPlaneRender(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pod.yaml")
	testutil.WriteFile(t, path, fleetConfig("127.0.0.1:8501", "127.0.0.1:8502", 90, 10))
	out, err := exec.Command(binary, "controlplane", "--render", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"clusters"`, `"weightedClusters"`, `"edsClusterConfig"`, `"driftcar"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("--render output lacks %q", want)
		}
	}
	_ = os.Remove(path)
}
