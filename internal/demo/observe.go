package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// observer reads driftcar's admin API, as a user's tools would.
type observer struct {
	admin  string
	client *http.Client
}

type featureState struct {
	Name  string
	State string
	Stat  string // the strongest test of the shortest window: "ks 0.031 / 0.040"
}

type snapshot struct {
	Features    []featureState
	Agreement   float64 // match / (match + mismatch)
	Compared    float64
	CanaryShare float64
	Requests    float64
	Truth       *truth
}

func newObserver(admin string) *observer {
	return &observer{admin: admin, client: &http.Client{Timeout: 2 * time.Second}}
}

func waitReady(ctx context.Context, admin string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("driftcar did not become ready at %s/readyz", admin)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (o *observer) get(path string) ([]byte, error) {
	resp, err := o.client.Get(o.admin + path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	return io.ReadAll(resp.Body)
}

func (o *observer) poll() (*snapshot, error) {
	s := &snapshot{}
	body, err := o.get("/api/drift")
	if err != nil {
		return nil, err
	}
	var view struct {
		Routes []struct {
			Features []struct {
				Name    string
				State   string
				Windows []struct {
					Window string
					Tests  map[string]struct {
						Statistic float64
						Threshold *float64
						PValue    *float64
					}
				}
			}
		}
	}
	if err := json.Unmarshal(body, &view); err != nil {
		return nil, fmt.Errorf("cannot read /api/drift: %w", err)
	}
	for _, r := range view.Routes {
		for _, f := range r.Features {
			fs := featureState{Name: f.Name, State: f.State}
			if len(f.Windows) > 0 {
				fs.Stat = strongest(f.Windows[0].Tests)
			}
			s.Features = append(s.Features, fs)
		}
	}
	metrics, err := o.get("/metrics")
	if err != nil {
		return nil, err
	}
	m := parseMetrics(string(metrics))
	match, mismatch := m[`driftcar_shadow_comparisons_total{outcome="match"}`], m[`driftcar_shadow_comparisons_total{outcome="mismatch"}`]
	if match+mismatch > 0 {
		s.Agreement = match / (match + mismatch)
	}
	s.Compared = match + mismatch
	live := m[`driftcar_requests_total{arm="live"}`] + m[`driftcar_grpc_requests_total{arm="live"}`]
	canary := m[`driftcar_requests_total{arm="canary"}`] + m[`driftcar_grpc_requests_total{arm="canary"}`]
	s.Requests = live + canary
	if s.Requests > 0 {
		s.CanaryShare = canary / s.Requests
	}
	if s.Truth, err = o.pollTruth(); err != nil {
		return nil, err
	}
	return s, nil
}

// strongest names the test closest to its threshold.
func strongest(tests map[string]struct {
	Statistic float64
	Threshold *float64
	PValue    *float64
}) string {
	best, ratio := "", -1.0
	names := make([]string, 0, len(tests))
	for n := range tests {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := tests[n]
		if t.Threshold == nil || *t.Threshold <= 0 {
			continue
		}
		if r := t.Statistic / *t.Threshold; r > ratio {
			best, ratio = fmt.Sprintf("%s %.3g / %.3g", n, t.Statistic, *t.Threshold), r
		}
	}
	return best
}

// parseMetrics sums the samples of each metric by the one label the demo
// cares about, keyed like name{label="value"}.
func parseMetrics(text string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(line, "{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(labels, ",") {
			if k, _, _ := strings.Cut(kv, "="); k == "outcome" || k == "arm" {
				out[name+"{"+kv+"}"] += v
			}
		}
	}
	return out
}
