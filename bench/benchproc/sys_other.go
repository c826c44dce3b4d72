//go:build !linux

package benchproc

import (
	"os"
	"os/exec"
	"syscall"
)

func dieWithParent(*exec.Cmd) {}

func signalGroup(pid int, sig syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(sig)
}
