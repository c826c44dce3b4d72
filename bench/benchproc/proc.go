package benchproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Process accounting from /proc (Linux); elsewhere every reading fails.

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

// StatFields returns the fields of /proc/<pid>/stat after the command
// name, so that field 3 of proc(5) (state) is index 0.
func StatFields(pid int) ([]string, error) {
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

// CPUSeconds is the user plus system CPU time of pid, all threads.
func CPUSeconds(pid int) (float64, error) {
	f, err := StatFields(pid)
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
