package harness

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/driftcar/driftcar/bench/loadgen"
)

// progress shows what the benchmark is doing: on a terminal, one line
// rewritten four times a second; elsewhere, one line per step.
type progress struct {
	w   io.Writer
	tty bool

	mu        sync.Mutex
	total     int
	n         int
	remaining time.Duration // planned time of the steps not yet started
	label     string
	live      *loadgen.Live
	stepStart time.Time
	stepDur   time.Duration
	width     int

	stop chan struct{}
	wg   sync.WaitGroup
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, stop: make(chan struct{})}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	if p.w != nil && p.tty {
		p.wg.Add(1)
		go p.loop()
	}
	return p
}

func (p *progress) loop() {
	defer p.wg.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.draw()
			p.mu.Unlock()
		}
	}
}

// plan sets the number of steps and their planned total time.
func (p *progress) plan(steps int, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total, p.remaining = steps, d
}

// step starts a step and returns the counters its load updates.
func (p *progress) step(label string, d time.Duration) *loadgen.Live {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	p.remaining -= d
	p.label, p.stepStart, p.stepDur = label, time.Now(), d
	p.live = new(loadgen.Live)
	if p.w != nil && !p.tty {
		fmt.Fprintf(p.w, "[%d/%d] %s\n", p.n, p.total, label)
	}
	return p.live
}

// skip counts a planned step that will not run.
func (p *progress) skip(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	p.remaining -= d
}

// logf prints a message between progress lines.
func (p *progress) logf(format string, args ...any) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// draw rewrites the progress line; the caller holds mu.
func (p *progress) draw() {
	if p.live == nil {
		return
	}
	el := time.Since(p.stepStart)
	rate := 0.0
	if s := el.Seconds(); s > 0 {
		rate = float64(p.live.Done.Load()) / s
	}
	left := p.remaining + max(p.stepDur-el, 0)
	line := fmt.Sprintf("[%d/%d] %s  %.1f/%.1fs  %.0f req/s  failed %d  in flight %d  ~%s left",
		p.n, p.total, p.label, min(el, p.stepDur).Seconds(), p.stepDur.Seconds(), rate,
		p.live.Failed.Load(), p.live.InFlight.Load(), left.Round(time.Second))
	pad := max(p.width-len(line), 0)
	p.width = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
}

// clear erases the progress line; the caller holds mu.
func (p *progress) clear() {
	if p.tty && p.width > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
		p.width = 0
	}
}

// done erases the progress line for good.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live = nil
	p.clear()
}

func (p *progress) close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.wg.Wait()
	p.done()
}
