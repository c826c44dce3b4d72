package benchproc

import (
	"os/exec"
	"syscall"
)

// dieWithParent puts cmd's process in a process group of its own, so that
// stopping it reaches its children too (an nginx master's workers), and
// makes it get SIGKILL if the benchmark dies, so that a killed benchmark
// leaves no proxy behind. (An nginx worker whose master was killed that
// way may linger; a clean stop signals the whole group.)
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// signalGroup sends sig to the process group that pid leads.
func signalGroup(pid int, sig syscall.Signal) error { return syscall.Kill(-pid, sig) }
