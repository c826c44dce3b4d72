package harness

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Process accounting from /proc (Linux). On other systems every reading
// fails and the report shows "n/a".

// clockTicks is the kernel's USER_HZ, from the process's auxiliary vector
// (AT_CLKTCK); 100 if that cannot be read.
var clockTicks = sync.OnceValue(func() float64 {
	const atClkTck = 17
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 100
	}
	for len(b) >= 16 {
		k, v := binary.NativeEndian.Uint64(b), binary.NativeEndian.Uint64(b[8:])
		if k == atClkTck && v > 0 {
			return float64(v)
		}
		b = b[16:]
	}
	return 100
})

// statFields returns the fields of /proc/<pid>/stat after the command
// name, so that field 3 of proc(5) (state) is index 0.
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, fmt.Errorf("cannot read stat of pid %d: %w", pid, err)
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("cannot parse stat of pid %d", pid)
	}
	return strings.Fields(string(b[i+1:])), nil
}

// cpuSeconds is the user plus system CPU time of pid, all threads.
func cpuSeconds(pid int) (float64, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 13 {
		return 0, fmt.Errorf("cannot parse stat of pid %d: %d fields", pid, len(f))
	}
	// utime and stime are fields 14 and 15 of proc(5).
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("cannot parse stat of pid %d: %w", pid, err)
	}
	return float64(ut+st) / clockTicks(), nil
}

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
		f, err := statFields(child)
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
		s, err := cpuSeconds(p)
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
