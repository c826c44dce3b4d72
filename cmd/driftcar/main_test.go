package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"

	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

// binary is the driftcar binary built once for the tests that need a real
// process and real signals.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "driftcar-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "driftcar")
	build := exec.Command("go", "build", "-race", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("cannot build driftcar: " + err.Error())
	}
	code := m.Run()
	if code == 0 {
		// The control planes, upstreams and log readers the tests start in
		// this process must all be gone.
		if err := goleak.Find(testupstream.GoleakOptions...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	testutil.WriteFile(t, good, sidecarConfig("127.0.0.1:8501", "127.0.0.1:8502", 90, 10))
	testutil.WriteFile(t, bad, strings.Replace(sidecarConfig("127.0.0.1:8501", "127.0.0.1:8502", 90, 10), "weight: 10", "weight: -10", 1))
	unknown := filepath.Join(dir, "unknown.yaml")
	testutil.WriteFile(t, unknown, sidecarConfig("127.0.0.1:8501", "127.0.0.1:8502", 90, 10)+"bogus: 1\n")

	// The week unit the detector documents for false_alarm_rate.
	week := filepath.Join(dir, "week.yaml")
	testutil.WriteFile(t, week, sidecarConfig("127.0.0.1:8501", "127.0.0.1:8502", 90, 10)+`features:
  - { name: age, type: numeric }
reference: { file: reference.json }
drift: { windows: [5m, 1h], false_alarm_rate: 1/1w }
`)

	var out, errOut bytes.Buffer
	for _, path := range []string{good, week} {
		out.Reset()
		errOut.Reset()
		if code := runMain([]string{"validate", "--config", path}, &out, &errOut); code != 0 {
			t.Fatalf("validate %s: exit %d; stderr %s", path, code, errOut.String())
		}
		if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "ok: ") {
			t.Errorf("validate %s: got %q; want one line starting with \"ok: \"", path, out.String())
		}
	}

	for path, want := range map[string]string{
		bad:     "routes[0].split[1].weight: must be >= 0 (line 12)",
		unknown: "bogus: unknown field (line 14)",
	} {
		out.Reset()
		errOut.Reset()
		if code := runMain([]string{"validate", "--config", path}, &out, &errOut); code != 1 {
			t.Fatalf("validate %s: exit %d; want 1", path, code)
		}
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("validate %s: stderr lacks %q:\n%s", path, want, errOut.String())
		}
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(binary, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^driftcar \S+ \(revision \S+, go\S+\)\n$`).Match(out) {
		t.Errorf("version: got %q", out)
	}
}

func sidecarConfig(live, canary string, liveWeight, canaryWeight int) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
model: credit-risk
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

// process is a running driftcar binary and the addresses it logged.
type process struct {
	cmd          *exec.Cmd
	proxy, admin string
	logs         *lockedBuffer
	exited       chan error
}

func startBinary(t *testing.T, configPath string) *process {
	t.Helper()
	return startBinaryArgs(t, "run", "--config", configPath)
}

func startBinaryArgs(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, logs: &lockedBuffer{}, exited: make(chan error, 1)}
	addrs := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.logs.WriteLine(line)
			var rec struct{ Msg, Listen, Admin string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
				addrs <- [2]string{rec.Listen, rec.Admin}
			}
		}
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	select {
	case a := <-addrs:
		p.proxy, p.admin = a[0], a[1]
	case err := <-p.exited:
		t.Fatalf("driftcar exited before serving: %v\n%s", err, p.logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("driftcar did not log \"serving\" within 20s\n%s", p.logs.String())
	}
	return p
}

func (p *process) served(t *testing.T, userID string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+p.proxy+"/v1/models/credit:predict", strings.NewReader(`{"instances":[1]}`))
	req.Header.Set("X-User-Id", userID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Header.Get("X-Upstream")
}

// get returns the body of an admin endpoint.
func (p *process) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + p.admin + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func (p *process) metric(t *testing.T, series string) string {
	t.Helper()
	for _, line := range strings.Split(p.get(t, "/metrics"), "\n") {
		if strings.HasPrefix(line, series+" ") {
			return strings.TrimPrefix(line, series+" ")
		}
	}
	return ""
}

func TestSIGHUPReload(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", "{}"))
	canary := testupstream.Start(t, testupstream.Answer("canary", "{}"))
	path := filepath.Join(t.TempDir(), "driftcar.yaml")
	testutil.WriteFile(t, path, sidecarConfig(live, canary, 100, 0))
	p := startBinary(t, path)
	if got := p.served(t, "u1"); got != "live" {
		t.Fatalf("before reload: served by %q; want live", got)
	}

	testutil.WriteFile(t, path, sidecarConfig(live, canary, 0, 100))
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "SIGHUP applies the good file", func() bool {
		return p.served(t, "u1") == "canary"
	})

	testutil.WriteFile(t, path, "routes: [\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	const okSeries = `driftcar_config_last_reload_successful{model="credit-risk"}`
	testutil.Eventually(t, 10*time.Second, "SIGHUP with a bad file sets reload_successful to 0", func() bool {
		return p.metric(t, okSeries) == "0"
	})
	if got := p.served(t, "u1"); got != "canary" {
		t.Errorf("after bad reload: served by %q; want canary (last good config)", got)
	}
	if !strings.Contains(p.logs.String(), "using the last successfully loaded config") {
		t.Errorf("bad reload was not logged:\n%s", p.logs.String())
	}
}

func TestSIGTERMDrains(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	live := testupstream.Start(t, func(ctx *fasthttp.RequestCtx) {
		entered <- struct{}{}
		<-release
		ctx.Response.Header.Set("X-Upstream", "live")
		ctx.SetBodyString("done")
	})
	path := filepath.Join(t.TempDir(), "driftcar.yaml")
	testutil.WriteFile(t, path, sidecarConfig(live, live, 1, 0))
	p := startBinary(t, path)

	result := make(chan string, 1)
	go func() { result <- p.served(t, "u1") }()
	<-entered
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "driftcar logs draining", func() bool {
		return strings.Contains(p.logs.String(), `"msg":"draining"`)
	})
	select {
	case err := <-p.exited:
		t.Fatalf("exited (%v) with a request in flight", err)
	default:
	}
	close(release)
	if got := <-result; got != "live" {
		t.Errorf("in-flight request: served by %q; want live", got)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("exit: %v; want status 0\n%s", err, p.logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("driftcar did not exit after draining")
	}
}
