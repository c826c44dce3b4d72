package llm

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/driftcar/driftcar/bench/llmstub"
)

// TargetBigGrowth bounds the RSS growth of a driftcar that streams one
// response of BigBytes.
const TargetBigGrowth = 64 << 20

// Big is one response of Options.BigBytes through one path.
type Big struct {
	Path  string  `json:"path"`
	Bytes int64   `json:"bytes"`
	MiBps float64 `json:"mib_per_s"`
	// RSSBefore and RSSPeak are the proxy's resident set before the
	// response and its highest sample during it (every 10 ms), in MiB;
	// zero where the proxy's process is not the benchmark's child.
	RSSBefore float64 `json:"rss_before_mib,omitempty"`
	RSSPeak   float64 `json:"rss_peak_mib,omitempty"`
	Error     string  `json:"error,omitempty"`
}

// measureBig fetches one response of n bytes through t, sampling the
// proxy's RSS while it streams.
func (e *env) measureBig(ctx context.Context, t *target, n int64) Big {
	b := Big{Path: t.info.Name, Bytes: n}
	if t.pid > 0 {
		b.RSSBefore = rssMiB(t.pid)
	}
	done := make(chan struct{})
	peak := make(chan float64, 1)
	go func() {
		hi := b.RSSBefore
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				peak <- hi
				return
			case <-tick.C:
				if t.pid > 0 {
					hi = max(hi, rssMiB(t.pid))
				}
			}
		}
	}()
	start := time.Now()
	got, err := fetch(ctx, "http://"+t.addr+llmstub.BigPath+"?bytes="+strconv.FormatInt(n, 10))
	elapsed := time.Since(start)
	close(done)
	if t.pid > 0 {
		b.RSSPeak = max(<-peak, rssMiB(t.pid))
	}
	switch {
	case err != nil:
		b.Error = err.Error()
	case got != n:
		b.Error = fmt.Sprintf("got %d bytes, want %d", got, n)
	default:
		b.MiBps = float64(n) / (1 << 20) / elapsed.Seconds()
	}
	return b
}

func fetch(ctx context.Context, url string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	hc := NewHTTPClient(1)
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	return io.Copy(io.Discard, resp.Body)
}

// rssMiB reads a process's resident set from /proc, or 0.
func rssMiB(pid int) float64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:")); ok {
			kb, err := strconv.ParseFloat(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))), 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}
