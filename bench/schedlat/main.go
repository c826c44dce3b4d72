package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"golang.org/x/exp/trace"
)

func main() {
	long := flag.Duration("long", 2*time.Millisecond, "a wait at least this long counts as long")
	silence := flag.Duration("silence", time.Millisecond, "a P with no event for this long was off the CPU")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: schedlat [flags] TRACE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	r, err := analyzeFile(flag.Arg(0), *long, *silence)
	if err != nil {
		fmt.Fprintln(os.Stderr, "schedlat:", err)
		os.Exit(1)
	}
	r.print(os.Stdout)
}

func analyzeFile(path string, long, silence time.Duration) (*report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck // read only
	r, err := analyze(f, long, silence)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

type report struct {
	long, silence time.Duration
	waits         []time.Duration // sorted
	longWaits     int
	behindSilentP int
	stolen        int // long waits that ran on another P than the one that readied them
}

type pending struct {
	at trace.Time
	p  trace.ProcID
}

// analyze reads the whole trace: the silence test needs each P's events
// after the wait began.
func analyze(in io.Reader, long, silence time.Duration) (*report, error) {
	tr, err := trace.NewReader(in)
	if err != nil {
		return nil, fmt.Errorf("read trace: %w", err)
	}
	var events []trace.Event
	for {
		ev, err := tr.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read trace: %w", err)
		}
		events = append(events, ev)
	}
	eventTimes := map[trace.ProcID][]trace.Time{}
	for _, ev := range events {
		if p := ev.Proc(); p != trace.NoProc {
			eventTimes[p] = append(eventTimes[p], ev.Time())
		}
	}

	rep := &report{long: long, silence: silence}
	runnable := map[trace.GoID]pending{}
	for _, ev := range events {
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		g := st.Resource.Goroutine()
		_, to := st.Goroutine()
		switch to {
		case trace.GoRunnable:
			runnable[g] = pending{ev.Time(), ev.Proc()}
		case trace.GoRunning:
			w, ok := runnable[g]
			if !ok {
				continue
			}
			delete(runnable, g)
			d := ev.Time().Sub(w.at)
			rep.waits = append(rep.waits, d)
			if d < long {
				continue
			}
			rep.longWaits++
			if w.p != ev.Proc() {
				rep.stolen++
			}
			if longestSilence(eventTimes[ev.Proc()], w.at, ev.Time()) >= silence {
				rep.behindSilentP++
			}
		}
	}
	slices.Sort(rep.waits)
	return rep, nil
}

// longestSilence is the longest stretch of [from, to] with no time in ts
// (sorted).
func longestSilence(ts []trace.Time, from, to trace.Time) time.Duration {
	i, _ := slices.BinarySearch(ts, from)
	longest, prev := time.Duration(0), from
	for ; i < len(ts) && ts[i] <= to; i++ {
		longest = max(longest, ts[i].Sub(prev))
		prev = ts[i]
	}
	return max(longest, to.Sub(prev))
}

func (r *report) quantile(q float64) time.Duration {
	if len(r.waits) == 0 {
		return 0
	}
	return r.waits[min(len(r.waits)-1, int(q*float64(len(r.waits))))]
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "goroutine waits, runnable to running: %d\n", len(r.waits))
	fmt.Fprintf(w, "  p50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n",
		r.quantile(0.5), r.quantile(0.9), r.quantile(0.99), r.quantile(0.999), r.quantile(1))
	fmt.Fprintf(w, "waits of %v or more: %d (%.2f%%)\n", r.long, r.longWaits, percent(r.longWaits, len(r.waits)))
	fmt.Fprintf(w, "  behind a P silent for %v or more (its thread off the CPU): %d (%.1f%%)\n",
		r.silence, r.behindSilentP, percent(r.behindSilentP, r.longWaits))
	fmt.Fprintf(w, "  run by another P than the one that readied them: %d (%.1f%%)\n",
		r.stolen, percent(r.stolen, r.longWaits))
}

func percent(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}
