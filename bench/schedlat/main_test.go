package main

import (
	"bytes"
	"runtime"
	"runtime/trace"
	"strings"
	"testing"
	"time"

	xtrace "golang.org/x/exp/trace"
)

// A goroutine readied while the only P runs a long loop waits for the
// loop: the wait is long and the P emits nothing meanwhile.
func TestWaitBehindABusyP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const spin = 5 * time.Millisecond

	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatal(err)
	}
	wake, done := make(chan struct{}), make(chan struct{})
	go func() {
		<-wake
		close(done)
	}()
	runtime.Gosched() // let it block on wake
	close(wake)
	for start := time.Now(); time.Since(start) < spin; {
	}
	<-done
	trace.Stop()

	rep, err := analyze(&buf, spin, spin/2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.waits) == 0 {
		t.Fatal("no goroutine waits in the trace")
	}
	if rep.longWaits < 1 || rep.behindSilentP < 1 {
		t.Fatalf("long waits %d, behind a silent P %d; want at least 1 each", rep.longWaits, rep.behindSilentP)
	}
	if got := rep.quantile(1); got < spin {
		t.Errorf("longest wait %v, want at least %v", got, spin)
	}
	var out strings.Builder
	rep.print(&out)
	if !strings.Contains(out.String(), "behind a P silent for 2.5ms or more") {
		t.Errorf("report:\n%s", out.String())
	}
}

func TestNotATrace(t *testing.T) {
	_, err := analyze(strings.NewReader("not a trace"), time.Millisecond, time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "read trace") {
		t.Fatalf("err = %v, want a read trace error", err)
	}
}

func TestLongestSilence(t *testing.T) {
	for _, c := range []struct {
		ts       []int64
		from, to int64
		want     time.Duration
	}{
		{nil, 0, 10, 10},
		{[]int64{2, 3, 9}, 0, 10, 6},
		{[]int64{1, 2}, 0, 10, 8},
		{[]int64{5}, 4, 6, 1},
	} {
		var ts []xtrace.Time
		for _, v := range c.ts {
			ts = append(ts, xtrace.Time(v))
		}
		if got := longestSilence(ts, xtrace.Time(c.from), xtrace.Time(c.to)); got != c.want {
			t.Errorf("longestSilence(%v, %d, %d) = %v, want %v", c.ts, c.from, c.to, got, c.want)
		}
	}
}
