//go:build !race && unix

package shadow

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/driftcar/driftcar/internal/testupstream"
)

// throughputFloor is what this test enforces of the relayed throughput
// with a 200ms shadow mirroring every call, as a share of the throughput
// without it. The target is 0.95; the floor leaves room for a shared
// two-core machine, and the measured ratio is logged.
const throughputFloor = 0.90

// TestGRPCSlowShadowKeepsThroughput: with a shadow that takes 200ms to
// answer every ModelInfer call, the relay keeps its throughput: the shadow
// side drops what it cannot take (counted) instead of slowing live calls.
// Runs with and without the shadow alternate in one process, so the ratio
// compares like with like.
//
//	go test -run TestGRPCSlowShadowKeepsThroughput -v ./shadow/
func TestGRPCSlowShadowKeepsThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("a throughput measurement")
	}
	live := testupstream.StartGRPC(t, testupstream.GRPCAnswer("live", 0.25, 0.5))
	shadow := testupstream.StartGRPC(t, func(ctx context.Context, _ metadata.MD, req []byte) ([]byte, error) {
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
		}
		return testupstream.InferResponse("shadow", testupstream.InferID(req), 0.25, 0.5), nil
	})
	spec := grpcShadowSpec(shadow)
	spec.Upstream.MaxConns = 256
	spec.Upstream.Timeout = time.Second
	with := newGRPCEnv(t, live, spec)
	without := newGRPCEnv(t, live, Spec{})

	const (
		clients = 32
		pairs   = 15
		window  = 150 * time.Millisecond
	)
	var seq atomic.Int64
	var cpuOff, cpuOn time.Duration
	load := func(e *grpcEnv) int64 {
		cpu := &cpuOff
		if e == with {
			cpu = &cpuOn
		}
		start := cpuTime(t)
		defer func() { *cpu += cpuTime(t) - start }()
		var n atomic.Int64
		var wg sync.WaitGroup
		end := time.Now().Add(window)
		for range clients {
			wg.Go(func() {
				for time.Now().Before(end) {
					id := "r" + strconv.FormatInt(seq.Add(1), 10)
					if _, err := e.infer(t, testupstream.InferRequest("m", id, row)); err != nil {
						t.Error(err)
						return
					}
					n.Add(1)
				}
			})
		}
		wg.Wait()
		return n.Load()
	}
	load(without) // warm both paths
	load(with)
	cpuOff, cpuOn = 0, 0
	// Each pair runs both sides back to back, in alternating order; the
	// median of the pairs' ratios discounts the machine's other load.
	var off, on int64
	ratios := make([]float64, 0, pairs)
	for i := range pairs {
		var a, b int64
		if i%2 == 0 {
			a = load(without)
			b = load(with)
		} else {
			b = load(with)
			a = load(without)
		}
		off, on = off+a, on+b
		ratios = append(ratios, float64(b)/float64(a))
	}
	slices.Sort(ratios)
	ratio := ratios[pairs/2]
	rate := func(n int64) float64 { return float64(n) / (pairs * window).Seconds() }
	mirrored := with.counter(t, "driftcar_shadow_requests_total", "result", "ok") + with.counter(t, "driftcar_shadow_inflight")
	dropped := with.counter(t, "driftcar_shadow_requests_total", "result", "dropped_queue_full")
	// On a saturated machine throughput is the inverse of the CPU time a
	// call costs; the process's own CPU time is not inflated by other
	// processes, so its ratio is the steadier measure. It includes the
	// client, the live model and the shadow model, all in this process.
	perOff, perOn := cpuOff.Seconds()/float64(off), cpuOn.Seconds()/float64(on)
	cpuRatio := perOff / perOn
	t.Logf("relayed ModelInfer calls/s: %.0f without a shadow, %.0f with a 200ms shadow on every call; median wall ratio of %d pairs %.3f×", rate(off), rate(on), pairs, ratio)
	t.Logf("process CPU per relayed call: %.1fµs without, %.1fµs with: throughput ratio %.3f× (target 0.95×); shadow: %.0f sent, %.0f dropped (queue full)",
		perOff*1e6, perOn*1e6, cpuRatio, mirrored, dropped)
	if mirrored == 0 {
		t.Fatal("nothing was mirrored: the test measured no shadow")
	}
	if cpuRatio < throughputFloor {
		t.Errorf("throughput with a 200ms shadow is %.3f× of without (by CPU per call); want >= %.2f×", cpuRatio, throughputFloor)
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
