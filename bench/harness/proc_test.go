package harness

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"testing"

	"github.com/driftcar/driftcar/bench/benchproc"
)

func TestProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	for i := 0; i < 1e7; i++ { // burn a little CPU
		_ = i * i
	}
	if s, err := benchproc.CPUSeconds(os.Getpid()); err != nil || s < 0 {
		t.Errorf("benchproc.CPUSeconds(self) = %v, %v", s, err)
	}
	if b, err := peakRSS(os.Getpid()); err != nil || b < 1<<20 {
		t.Errorf("peakRSS(self) = %v, %v; want >= 1 MiB", b, err)
	}
	if selfCPU() <= 0 {
		t.Error("selfCPU() = 0")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	c, err := benchproc.Start(t.TempDir(), nil, sleep, "30")
	if err != nil {
		t.Fatal(err)
	}
	pid := c.Cmd.Process.Pid
	if kids := withChildren(os.Getpid()); !slices.Contains(kids, pid) || kids[0] != os.Getpid() {
		t.Errorf("withChildren(self) = %v; want self first and %d", kids, pid)
	}
	if _, err := treeCPU(pid); err != nil {
		t.Error(err)
	}
	if b, err := treePeakRSS(pid); err != nil || b <= 0 {
		t.Errorf("treePeakRSS = %v, %v", b, err)
	}
	if err := c.Stop(); err != nil {
		t.Error(err)
	}
	if !c.Exited() {
		t.Error("child still running after stop")
	}
	if _, err := benchproc.CPUSeconds(pid); err == nil {
		t.Error("CPUSeconds of a reaped process succeeded")
	}
}
