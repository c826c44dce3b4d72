package grafana

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/internal/sidecar"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

// streamed serves a chat answer as server-sent events 2ms apart, as a
// model generates them (events written at once would reach the proxy as
// one chunk, with no gap to time), with a usage event when withUsage.
func streamed(finish string, withUsage bool) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			events := []string{`{"choices":[{"delta":{"content":"a"}}]}`, `{"choices":[{"delta":{"content":"b"}}]}`,
				`{"choices":[{"delta":{},"finish_reason":"` + finish + `"}]}`}
			if withUsage {
				events = append(events, `{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}`)
			}
			for _, ev := range append(events, "[DONE]") {
				_, _ = w.WriteString("data: " + ev + "\n\n")
				if w.Flush() != nil {
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
}

// TestLLMRowAgainstOpenAIRoute runs the queries of the dashboard's LLM
// row against a real Prometheus scraping a sidecar whose openai route
// streams on two arms: each must show both arms with values above zero,
// not the zero lines of a route without LLM traffic.
func TestLLMRowAgainstOpenAIRoute(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a sidecar and Prometheus for about 10 seconds")
	}
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus is not installed; .ci/run installs the Debian package")
		}
		t.Skip("prometheus not installed")
	}
	live := testupstream.Start(t, streamed("stop", true))
	canary := testupstream.Start(t, streamed("length", false))
	admin := testutil.FreePort(t)
	cfgPath := filepath.Join(t.TempDir(), "driftcar.yaml")
	testutil.WriteFile(t, cfgPath, fmt.Sprintf(`listen: 127.0.0.1:0
admin: %s
model: llm
upstreams:
  live:   { address: %s }
  canary: { address: %s }
routes:
  - name: chat
    protocol: openai
    arm_override: true
    split: [{ upstream: live, weight: 1 }, { upstream: canary, weight: 0 }]
`, admin, live, canary))
	s, err := sidecar.New(sidecar.Options{ConfigPath: cfgPath, ProbeInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone, loadDone := make(chan error, 1), make(chan struct{})
	go func() { runDone <- s.Run(ctx, nil) }()
	go func() { // streams on both arms until the test ends
		defer close(loadDone)
		tick := time.NewTicker(20 * time.Millisecond) // about 100 streams/s in all
		defer tick.Stop()
		for ctx.Err() == nil {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
			for _, arm := range []string{"live", "canary"} {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.ProxyAddr()+"/v1/chat/completions",
					strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"?"}]}`))
				req.Header.Set("x-driftcar-arm", arm)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
			}
		}
	}()
	defer func() {
		cancel()
		<-loadDone
		if err := <-runDone; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	web, logs := startPrometheus(t, prom, admin)

	all, err := Queries(readDashboard(t), map[string]string{"model": "llm", "route": "chat", "feature": "x", "__rate_interval": "5s"})
	if err != nil {
		t.Fatal(err)
	}
	var qs []string
	for _, q := range all {
		if strings.Contains(q, "driftcar_llm_") {
			qs = append(qs, q)
		}
	}
	if len(qs) < 5 {
		t.Fatalf("%d LLM queries in the dashboard; want TTFT p50 and p99, inter-token p99, tokens and finish reasons", len(qs))
	}
	client := &http.Client{Timeout: 5 * time.Second}
	var missing []string
	if !testutil.Poll(60*time.Second, time.Second, func() bool {
		missing = missing[:0]
		for _, q := range qs {
			byArm, err := armValues(client, "http://"+web, q)
			for _, arm := range []string{"live", "canary"} {
				if err != nil || !(byArm[arm] > 0) {
					missing = append(missing, fmt.Sprintf("%s: %v %v: %s", arm, byArm, err, q))
				}
			}
		}
		return len(missing) == 0
	}) {
		t.Fatalf("LLM queries without a value above zero for both arms after 60s:\n%s\nprometheus log:\n%s",
			strings.Join(missing, "\n"), logs.String())
	}
}

// armValues runs q and returns the largest finite value of each arm's
// series.
func armValues(client *http.Client, base, q string) (map[string]float64, error) {
	resp, err := client.PostForm(base+"/api/v1/query", url.Values{"query": {q}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("cannot decode the answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query failed: %s", body.Error)
	}
	out := map[string]float64{}
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		out[r.Metric["arm"]] = max(out[r.Metric["arm"]], v)
	}
	return out, nil
}
