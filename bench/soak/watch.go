package soak

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	promodel "github.com/prometheus/common/model"
)

// Sample is one observation of the driftcar process.
type Sample struct {
	// At is the time since traffic started.
	At         time.Duration `json:"at_ns"`
	RSS        int64         `json:"rss_bytes"`
	Heap       float64       `json:"heap_inuse_bytes"`
	Goroutines float64       `json:"goroutines"`
	FDs        int           `json:"open_fds"`
	// Queues: the shadow queue, shadow requests in flight, the sampler
	// queue, and the load generator's requests in flight.
	ShadowQueue    float64 `json:"shadow_queue"`
	ShadowInflight float64 `json:"shadow_inflight"`
	SamplerQueue   float64 `json:"sampler_queue"`
	ClientInflight int64   `json:"client_inflight"`
	// Client outcomes so far.
	OK             uint64 `json:"ok"`
	UpstreamFaults uint64 `json:"upstream_faults"`
	DriftcarErrors uint64 `json:"driftcar_errors"`
	// ReloadOK is driftcar_config_last_reload_successful.
	ReloadOK float64 `json:"reload_ok"`
}

// metrics is one scrape of driftcar's /metrics.
type metrics map[string]*dto.MetricFamily

func scrape(ctx context.Context, admin string) (metrics, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot scrape driftcar: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cannot scrape driftcar: GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(promodel.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("cannot parse driftcar's /metrics: %w", err)
	}
	return metrics(fams), nil
}

// sum adds the samples of a family whose labels include match.
func (m metrics) sum(name string, match ...string) float64 {
	f := m[name]
	if f == nil {
		return 0
	}
	total := 0.0
	for _, s := range f.GetMetric() {
		if !hasLabels(s, match) {
			continue
		}
		switch {
		case s.Counter != nil:
			total += s.GetCounter().GetValue()
		case s.Gauge != nil:
			total += s.GetGauge().GetValue()
		case s.Untyped != nil:
			total += s.GetUntyped().GetValue()
		}
	}
	return total
}

// by sums a family by the value of one label.
func (m metrics) by(name, label string) map[string]float64 {
	out := map[string]float64{}
	f := m[name]
	if f == nil {
		return out
	}
	for _, s := range f.GetMetric() {
		for _, l := range s.GetLabel() {
			if l.GetName() == label {
				out[l.GetValue()] += s.GetCounter().GetValue() + s.GetGauge().GetValue()
			}
		}
	}
	return out
}

func hasLabels(s *dto.Metric, match []string) bool {
	for i := 0; i+1 < len(match); i += 2 {
		found := false
		for _, l := range s.GetLabel() {
			if l.GetName() == match[i] && l.GetValue() == match[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// procRSS reads VmRSS of pid, in bytes.
func procRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func procFDs(pid int) (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(entries), err
}

// observe takes one Sample.
func observe(ctx context.Context, pid int, admin string, at time.Duration, t *traffic, inflight int64) (Sample, metrics, error) {
	s := Sample{At: at, ClientInflight: inflight,
		OK: t.ok.Load(), UpstreamFaults: t.upstreamFaults.Load(), DriftcarErrors: t.driftcarErrors.Load()}
	var err error
	if s.RSS, err = procRSS(pid); err != nil {
		return s, nil, err
	}
	if s.FDs, err = procFDs(pid); err != nil {
		return s, nil, err
	}
	m, err := scrape(ctx, admin)
	if err != nil {
		return s, nil, err
	}
	s.Heap = m.sum("go_memstats_heap_inuse_bytes")
	s.Goroutines = m.sum("go_goroutines")
	s.ShadowQueue = m.sum("driftcar_shadow_queue_length")
	s.ShadowInflight = m.sum("driftcar_shadow_inflight")
	s.SamplerQueue = m.sum("driftcar_sampler_queue_length")
	s.ReloadOK = m.sum("driftcar_config_last_reload_successful")
	return s, m, nil
}
