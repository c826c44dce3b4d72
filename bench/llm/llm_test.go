package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/driftcar/driftcar/bench/benchproc"
	"github.com/driftcar/driftcar/bench/llmstub"
	"github.com/driftcar/driftcar/internal/testupstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, testupstream.GoleakOptions...) }

// TestClientSeesTheFirstTokenBeforeTheEnd: the stub holds every token
// after the first until the client has read the first, so the stream
// only completes if events arrive as they are sent.
func TestClientSeesTheFirstTokenBeforeTheEnd(t *testing.T) {
	seen := make(chan struct{})
	stub, err := llmstub.Start("127.0.0.1:0", llmstub.Options{Tokens: 4, Pace: func(ctx context.Context, i int) error {
		if i == 0 {
			return nil
		}
		select {
		case <-seen:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return errors.New("the client did not see the first token")
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stub.Close() }()
	hc := NewHTTPClient(1)
	defer hc.CloseIdleConnections()
	c := NewClient(hc, "http://"+stub.Addr()+ChatPath, requestBody)
	var s Stream
	var order []int
	err = c.Do(context.Background(), &s, func(i int) {
		order = append(order, i)
		if i == 0 {
			close(seen)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Tokens) != 4 || len(order) != 4 || s.Finish != "stop" || s.Usage != 4 {
		t.Fatalf("tokens %d, callbacks %v, finish %q, usage %d; want 4 tokens, stop and usage 4", len(s.Tokens), order, s.Finish, s.Usage)
	}
	for i := 1; i < len(s.Tokens); i++ {
		if s.Tokens[i] < s.Tokens[i-1] {
			t.Errorf("token %d at %s before token %d at %s", i, s.Tokens[i], i-1, s.Tokens[i-1])
		}
	}
	if s.Total < s.Tokens[3] {
		t.Errorf("total %s before the last token %s", s.Total, s.Tokens[3])
	}
}

// TestClientRejectsAnIncompleteStream: a stream without [DONE] is an
// error, not a short success.
func TestClientRejectsAnIncompleteStream(t *testing.T) {
	stub, err := llmstub.Start("127.0.0.1:0", llmstub.Options{Tokens: 3, Pace: func(_ context.Context, i int) error {
		if i == 2 {
			return errors.New("cut")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stub.Close() }()
	hc := NewHTTPClient(1)
	defer hc.CloseIdleConnections()
	var s Stream
	err = NewClient(hc, "http://"+stub.Addr()+ChatPath, requestBody).Do(context.Background(), &s, nil)
	if err == nil || !strings.Contains(err.Error(), "without [DONE]") {
		t.Fatalf("err %v; want a stream without [DONE]", err)
	}
}

// TestLoad: a closed loop records one TTFT per stream, a gap per later
// token and a lag per token.
func TestLoad(t *testing.T) {
	stub, err := llmstub.Start("127.0.0.1:0", llmstub.Options{Tokens: 3, Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stub.Close() }()
	hc := NewHTTPClient(4)
	defer hc.CloseIdleConnections()
	l := Load{
		Streams: 4, PerStream: 5, Interval: time.Millisecond, Tokens: 3, Timeout: 10 * time.Second,
		NewClient: func() *Client { return NewClient(hc, "http://"+stub.Addr()+ChatPath, requestBody) },
	}
	r := l.Run(context.Background())
	if r.Streams != 20 || r.Failed != 0 || r.Tokens != 60 {
		t.Fatalf("streams %d failed %d (%s) tokens %d; want 20, 0, 60", r.Streams, r.Failed, r.FirstError, r.Tokens)
	}
	if r.TTFT.Count() != 20 || r.Gap.Count() != 40 || r.Lag.Count() != 60 || r.Total.Count() != 20 {
		t.Errorf("counts ttft %d gap %d lag %d total %d", r.TTFT.Count(), r.Gap.Count(), r.Lag.Count(), r.Total.Count())
	}
	if r.TTFT.Min() < time.Millisecond {
		t.Errorf("ttft min %s; the first token is due after one 1ms interval", r.TTFT.Min())
	}
}

func tinyOptions(t *testing.T, paths ...string) Options {
	t.Helper()
	o := DefaultOptions(true)
	o.Tokens, o.Interval = 3, time.Millisecond
	o.Streams = []int{1, 4}
	o.Duration, o.Settle = 100*time.Millisecond, 0
	o.Timeout = 10 * time.Second
	o.Paths = paths
	o.Mode = ModeInProcess
	o.OutDir = t.TempDir()
	return o
}

func checkReport(t *testing.T, rep *Report, paths ...string) {
	t.Helper()
	if len(rep.Cells) != 2*len(paths) {
		t.Fatalf("%d cells; want %d", len(rep.Cells), 2*len(paths))
	}
	for _, c := range rep.Cells {
		if c.Completed == 0 || c.Failed != 0 || c.TTFT.Count != c.Completed || c.ChunkLag.Count != 3*c.Completed {
			t.Errorf("%s at %d: %+v", c.Path, c.Streams, c)
		}
		if (c.Added == nil) != (c.Path == Direct) {
			t.Errorf("%s at %d: added %+v", c.Path, c.Streams, c.Added)
		}
	}
}

// TestRunCLIShort runs `driftcar-bench llm --short` on the direct path
// with a tiny load and checks the table and the files.
func TestRunCLIShort(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := RunCLI(context.Background(), []string{"--short", "--paths", "direct", "--tokens", "3", "--interval", "1ms",
		"--streams", "1,4", "--duration", "100ms", "--settle", "0s", "--out", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"Command: `driftcar-bench llm --short --paths direct", "| direct | 4 |", "No targets checked"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	files, _ := filepath.Glob(filepath.Join(out, "*-llm-short.*"))
	if len(files) != 2 {
		t.Fatalf("files %v; want the .md and .json", files)
	}
	var rep Report
	b, err := os.ReadFile(strings.TrimSuffix(files[0], filepath.Ext(files[0])) + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	checkReport(t, &rep, Direct)
}

// TestRunCLIBadFlags: unknown paths and a missing direct path are
// rejected before anything starts.
func TestRunCLIBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--paths", "envoy"}, {"--paths", "driftcar"}, {"--streams", "x"}, {"--tokens", "0"}} {
		var stdout, stderr bytes.Buffer
		if code := RunCLI(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d; want 2", args, code)
		}
	}
}

// TestRunInProcessDriftcar runs both driftcar paths inside the test
// process and checks that every stream came through whole; with the taps
// path's drift calibration this is skipped under the race detector.
func TestRunInProcessDriftcar(t *testing.T) {
	paths := []string{Direct, Driftcar, DriftcarTaps}
	if raceEnabled {
		paths = paths[:2]
	}
	o := tinyOptions(t, paths...)
	o.Streams = []int{1, TargetStreams}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, paths...)
	if len(rep.Targets) == 0 {
		t.Errorf("no targets checked at %d streams", TargetStreams)
	}
	t.Log("\n" + rep.Text())
}

// TestRunChild runs driftcar from bin/driftcar (make build) and nginx
// when installed.
func TestRunChild(t *testing.T) {
	root, err := benchproc.ModuleRoot()
	if err != nil {
		t.Skip(err)
	}
	bin := filepath.Join(root, "bin", "driftcar")
	if !benchproc.IsFile(bin) {
		t.Skip("bin/driftcar is missing (make build)")
	}
	o := tinyOptions(t, Direct, Driftcar, Nginx)
	o.Mode, o.DriftcarBin = ModeChild, bin
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if nginx, _ := benchproc.FindNginx(); nginx == "" {
		if len(rep.Skipped) != 1 || rep.Skipped[0].Path != Nginx {
			t.Fatalf("skipped %+v; want nginx", rep.Skipped)
		}
		checkReport(t, rep, Direct, Driftcar)
	} else {
		checkReport(t, rep, Direct, Driftcar, Nginx)
	}
	t.Log("\n" + rep.Text())
}
