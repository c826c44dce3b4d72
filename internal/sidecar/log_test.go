package sidecar

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/refbuild"
	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

// TestPredictionLogEndToEnd: every request reaches the file sink as one
// record with its features, prediction and shadow; a Kafka broker that
// is down does not stop the sidecar from serving, is named in /readyz,
// and its records are counted; and the file rebuilds a reference.
func TestPredictionLogEndToEnd(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.25]}`))
	shadowAddr := testupstream.Start(t, testupstream.Answer("shadow", `{"predictions":[0.5]}`))
	dir := t.TempDir()
	logFile := filepath.Join(dir, "predictions.jsonl")
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
model: credit-risk
upstreams:
  live:   { address: %s }
  shadow: { address: %s }
routes:
  - name: predict
    split: [{ upstream: live, weight: 1 }]
    shadow: { upstream: shadow, fraction: 1 }
features:
  - { name: age, type: numeric }
  - { name: country, type: categorical }
prediction: { type: numeric }
log:
  sinks:
    - { name: local, type: file, path: %s, batch: 1 }
    - { name: fleet, type: kafka, brokers: ["%s"], queue: 4, batch: 1, retries: 0, timeout: 200ms }
`, live, shadowAddr, logFile, testutil.FreePort(t))
	r := start(t, cfg)
	for i := range 30 {
		req, _ := http.NewRequest(http.MethodPost, "http://"+r.s.ProxyAddr()+"/v1/models/m:predict",
			strings.NewReader(fmt.Sprintf(`{"instances":[{"age":%d,"country":"DE"}]}`, 20+i)))
		req.Header.Set("X-Request-Id", fmt.Sprintf("req-%02d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d with a Kafka sink down", i, resp.StatusCode)
		}
		_ = resp.Body.Close()
	}
	admin := "http://" + r.s.AdminAddr()
	waitMetrics(t, admin, "30 records written to the file",
		`driftcar_log_records_total{model="credit-risk",result="written",sink="local"} 30`)
	// Every record offered to the dead broker's sink is accounted for.
	testutil.Eventually(t, 20*time.Second, "the kafka sink's 30 records counted as dropped", func() bool {
		_, body, _ := get(t, admin+"/metrics")
		var dropped float64
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, `driftcar_log_dropped_total{`) && strings.Contains(line, `sink="fleet"`) {
				var v float64
				fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
				dropped += v
			}
		}
		if dropped != 30 {
			t.Logf("fleet dropped %v", dropped)
		}
		return dropped == 30
	})
	status, ready, _ := get(t, admin+"/readyz")
	if status != 200 || !strings.Contains(ready, "prediction log:") || !strings.Contains(ready, "fleet") {
		t.Errorf("/readyz: got %d %q; want ready with the Kafka sink named", status, ready)
	}

	raw, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	n := 0
	for sc.Scan() {
		var rec struct {
			RequestID  string           `json:"request_id"`
			Route      string           `json:"route"`
			Status     int              `json:"status"`
			Features   []map[string]any `json:"features"`
			Prediction []float64        `json:"prediction"`
			Shadow     struct {
				Status     int       `json:"status"`
				Prediction []float64 `json:"prediction"`
				Outcome    string    `json:"outcome"`
			} `json:"shadow"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d: %v: %s", n+1, err, sc.Bytes())
		}
		n++
		if rec.Status != 200 || len(rec.Features) != 1 || rec.Features[0]["country"] != "DE" ||
			len(rec.Prediction) != 1 || rec.Prediction[0] != 0.25 ||
			rec.Shadow.Outcome != "mismatch" || rec.Shadow.Status != 200 || len(rec.Shadow.Prediction) != 1 || rec.Shadow.Prediction[0] != 0.5 {
			t.Errorf("record %s: %s", rec.RequestID, sc.Bytes())
		}
	}
	if n != 30 {
		t.Errorf("the file holds %d records; want 30", n)
	}

	// The file rebuilds a reference of the logged rows.
	var stdout, stderr bytes.Buffer
	if code := refbuild.Run([]string{"--input", logFile, "--format", "log", "--config", r.path, "--out", filepath.Join(dir, "ref.json")}, &stdout, &stderr); code != 0 {
		t.Fatalf("reference build from the log: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "30 rows, 2 features") {
		t.Errorf("reference build: %s", stdout.String())
	}
}
