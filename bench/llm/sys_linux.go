package llm

import (
	"os/exec"
	"syscall"
)

// dieWithParent puts cmd in a process group of its own (so that stopping
// it reaches an nginx master's workers) and kills it if the benchmark
// dies.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

func signalGroup(pid int, sig syscall.Signal) error { return syscall.Kill(-pid, sig) }
