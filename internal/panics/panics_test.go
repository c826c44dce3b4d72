package panics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestRecoverCountsAndThrottlesLogs(t *testing.T) {
	core, logs := observer.New(zap.ErrorLevel)
	now := time.Unix(1000, 0)
	c := NewCounter(prometheus.NewRegistry(), zap.New(core), func() time.Time { return now })
	boom := func(component string) (returned bool) {
		func() {
			defer c.Recover(component)
			panic("bad body")
		}()
		return true
	}
	for range 3 {
		if !boom("sampler") {
			t.Fatal("the panic escaped")
		}
	}
	boom("shadow")
	if got := testutil.ToFloat64(c.total.WithLabelValues("sampler")); got != 3 {
		t.Errorf("sampler panics: got %v; want 3", got)
	}
	if got := testutil.ToFloat64(c.total.WithLabelValues("shadow")); got != 1 {
		t.Errorf("shadow panics: got %v; want 1", got)
	}
	if logs.Len() != 2 {
		t.Fatalf("log lines: got %d; want one per component within a minute", logs.Len())
	}
	first := logs.All()[0].ContextMap()
	if first["component"] != "sampler" || first["panic"] != "bad body" || !strings.Contains(first["stack"].(string), "panics_test.go") {
		t.Errorf("first log: %v", first)
	}
	now = now.Add(LogEvery)
	boom("sampler")
	if logs.Len() != 3 || logs.All()[2].ContextMap()["suppressed_since_last_log"] != int64(2) {
		t.Errorf("after a minute: %d lines, last %v; want a third line counting 2 suppressed", logs.Len(), logs.All()[logs.Len()-1].ContextMap())
	}
}

func TestNilCounterDoesNotRecover(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a nil Counter swallowed the panic")
		}
	}()
	var c *Counter
	defer c.Recover("sampler")
	panic("x")
}
