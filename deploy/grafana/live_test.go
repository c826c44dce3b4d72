package grafana

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// TestDashboardQueriesReturnData runs every dashboard query against a
// Prometheus that scrapes running driftcar sidecars (for example
// deploy/prometheus/prometheus-local.yml scraping `driftcar demo`, which
// also loads the recording rules). It is skipped unless
// DRIFTCAR_PROMETHEUS_URL is set, e.g. http://127.0.0.1:9090; the variables
// come from DRIFTCAR_DASHBOARD_VARS, e.g.
// "model=credit-risk,route=predict,feature=income,__range=5m". Queries of
// the Ground truth row are checked only when the series they read exist.
func TestDashboardQueriesReturnData(t *testing.T) {
	base := os.Getenv("DRIFTCAR_PROMETHEUS_URL")
	if base == "" {
		t.Skip("DRIFTCAR_PROMETHEUS_URL is not set")
	}
	vars := map[string]string{}
	for _, kv := range strings.Split(os.Getenv("DRIFTCAR_DASHBOARD_VARS"), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	qs, err := Queries(readDashboard(t), vars)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	present := map[string]bool{}
	for _, q := range qs {
		if !requiredNow(t, client, base, q, present) {
			t.Logf("skipped, its ground-truth series are not exported: %s", q)
			continue
		}
		n, err := instantQuery(client, base, q)
		if err != nil {
			t.Errorf("%v\n\t%s", err, q)
		} else if n == 0 {
			t.Errorf("no data\n\t%s", q)
		}
	}
}

// instantQuery runs q through Prometheus's HTTP API and returns the number
// of series in the result.
func instantQuery(client *http.Client, base, q string) (int, error) {
	resp, err := client.PostForm(strings.TrimSuffix(base, "/")+"/api/v1/query", url.Values{"query": {q}})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string            `json:"resultType"`
			Result     []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("cannot decode the answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("query failed: %s", body.Error)
	}
	return len(body.Data.Result), nil
}
