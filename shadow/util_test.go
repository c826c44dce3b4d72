package shadow

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/proxy"
)

// wire returns resp as it goes on the wire.
func wire(t *testing.T, resp *fasthttp.Response) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := resp.Write(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newMetrics registers shadow metrics on a fresh registry.
func newMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	return NewMetrics(reg, proxy.NewMetrics(reg).UpstreamDuration())
}
