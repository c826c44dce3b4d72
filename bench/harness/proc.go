package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/driftcar/driftcar/bench/benchproc"
)

// Process accounting from /proc (Linux, through benchproc). On other
// systems every reading fails and the report shows "n/a".

// peakRSS is the high-water mark of pid's resident set (VmHWM), in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("cannot read status of pid %d: %w", pid, err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("cannot parse VmHWM of pid %d: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("pid %d: no VmHWM", pid)
}

// withChildren returns pid and its direct children (an nginx master and
// its workers).
func withChildren(pid int) []int {
	pids := []int{pid}
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return pids
	}
	for _, d := range dirs {
		child, err := strconv.Atoi(filepath.Base(d))
		if err != nil || child == pid {
			continue
		}
		f, err := benchproc.StatFields(child)
		if err != nil || len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == pid {
			pids = append(pids, child)
		}
	}
	return pids
}

// treeCPU is the CPU seconds of pid and its children.
func treeCPU(pid int) (float64, error) {
	var sum float64
	for i, p := range withChildren(pid) {
		s, err := benchproc.CPUSeconds(p)
		if err != nil {
			if i == 0 {
				return 0, err
			}
			continue // a child that just exited
		}
		sum += s
	}
	return sum, nil
}

// treePeakRSS is the sum of the peak RSS of pid and its children.
func treePeakRSS(pid int) (int64, error) {
	var sum int64
	for i, p := range withChildren(pid) {
		s, err := peakRSS(p)
		if err != nil {
			if i == 0 {
				return 0, err
			}
			continue
		}
		sum += s
	}
	return sum, nil
}

// selfCPU is this process's user plus system CPU time.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
