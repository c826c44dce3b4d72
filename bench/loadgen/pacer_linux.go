package loadgen

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// timerfd constants from <sys/timerfd.h>.
const (
	clockMonotonic  = 1
	tfdTimerAbstime = 1
)

// timerfdPacer sleeps on a Linux timerfd read through the runtime's
// poller: the goroutine parks like on a socket, its P runs other work,
// and the kernel's high-resolution timer wakes it within tens of
// microseconds. The runtime's own timers round sub-millisecond waits up
// to a millisecond when the process is idle.
type timerfdPacer struct {
	f        *os.File
	fd       uintptr
	baseMono int64
	baseTime time.Time
	buf      [8]byte
}

func newPacer() pacer {
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		return sleepPacer{}
	}
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		_ = syscall.Close(int(fd))
		return sleepPacer{}
	}
	return &timerfdPacer{f: os.NewFile(fd, "timerfd"), fd: fd, baseMono: ts.Nano(), baseTime: time.Now()}
}

type itimerspec struct {
	interval, value syscall.Timespec
}

// sleep waits until t or for at most max, whichever is first.
func (p *timerfdPacer) sleep(t time.Time, maxWait time.Duration) {
	now := time.Now()
	if d := t.Sub(now); d > maxWait {
		t = now.Add(maxWait)
	}
	spec := itimerspec{value: syscall.NsecToTimespec(p.baseMono + int64(t.Sub(p.baseTime)))}
	if _, _, errno := syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, p.fd, tfdTimerAbstime,
		uintptr(unsafe.Pointer(&spec)), 0, 0, 0); errno != 0 {
		time.Sleep(time.Until(t))
		return
	}
	if _, err := p.f.Read(p.buf[:]); err != nil {
		time.Sleep(time.Until(t))
	}
}

func (p *timerfdPacer) close() { _ = p.f.Close() }
