package testutil

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fatalTB records Fatalf instead of ending the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper()                        {}
func (f *fatalTB) Fatalf(format string, a ...any) { f.msg = fmt.Sprintf(format, a...) }

func TestPoll(t *testing.T) {
	n := 0
	if !Poll(time.Minute, time.Microsecond, func() bool { n++; return n == 3 }) {
		t.Fatal("Poll: got false for a condition that holds on the third check")
	}
	if n != 3 {
		t.Errorf("Poll: %d checks; want 3", n)
	}
	start := time.Now()
	if Poll(20*time.Millisecond, time.Millisecond, func() bool { return false }) {
		t.Fatal("Poll: got true for a condition that never holds")
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("Poll gave up after %v; want at least 20ms", d)
	}
}

func TestEventually(t *testing.T) {
	f := &fatalTB{TB: t}
	Eventually(f, 10*time.Millisecond, "the impossible", func() bool { return false })
	if want := "not true within 10ms: the impossible"; f.msg != want {
		t.Errorf("got message %q; want %q", f.msg, want)
	}
	f.msg = ""
	Eventually(f, time.Second, "the obvious", func() bool { return true })
	if f.msg != "" {
		t.Errorf("got message %q for a condition that holds", f.msg)
	}
}

func TestFreePortAndListen(t *testing.T) {
	addr := FreePort(t)
	busy, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("cannot listen on the free port %s: %v", addr, err)
	}
	// The port is released while Listen retries.
	time.AfterFunc(50*time.Millisecond, func() { _ = busy.Close() })
	ln := Listen(t, addr)
	if got := ln.Addr().String(); got != addr {
		t.Errorf("Listen: got %s; want %s", got, addr)
	}
	_ = ln.Close()
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.yaml")
	WriteFile(t, path, "one")
	ReplaceFile(t, path, "two")
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "two" {
		t.Fatalf("got %q, %v; want two", got, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("got %d files in the directory; want 1 (no temporary left)", len(entries))
	}
}

func TestMetricValue(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t_total", Help: "t"}, []string{"a", "b"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "t_gauge", Help: "t"})
	reg.MustRegister(c, g)
	c.WithLabelValues("x", "y").Add(2)
	c.WithLabelValues("x", "z").Add(5)
	g.Set(3)
	if got := MetricValue(t, reg, "t_total", map[string]string{"a": "x", "b": "z"}); got != 5 {
		t.Errorf("t_total{a=x,b=z} = %v; want 5", got)
	}
	if got := MetricValue(t, reg, "t_gauge", nil); got != 3 {
		t.Errorf("t_gauge = %v; want 3", got)
	}
	f := &fatalTB{TB: t}
	MetricValue(f, reg, "t_total", map[string]string{"a": "x"})
	if f.msg == "" {
		t.Errorf("MetricValue of a partial label set: no failure; want one (labels must match exactly)")
	}
}
