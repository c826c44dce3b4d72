package llm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// child is a process the benchmark started.
type child struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startChild starts bin in dir; its output goes to dir/output.log.
func startChild(dir string, bin string, args ...string) (*child, error) {
	logPath := filepath.Join(dir, "output.log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cannot start %s: %w", filepath.Base(bin), err)
	}
	c := &child{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = f.Close()
		close(c.done)
	}()
	return c, nil
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the child's process group and SIGKILL after 5 s.
func (c *child) stop() error {
	pid := c.cmd.Process.Pid
	defer func() { _ = signalGroup(pid, syscall.SIGKILL) }()
	if c.exited() {
		return nil
	}
	_ = signalGroup(pid, syscall.SIGTERM)
	select {
	case <-c.done:
		return nil
	case <-time.After(5 * time.Second):
		_ = signalGroup(pid, syscall.SIGKILL)
		<-c.done
		return fmt.Errorf("%s did not stop on SIGTERM within 5s", filepath.Base(c.cmd.Path))
	}
}

// logTail is the end of the child's output, for error messages.
func (c *child) logTail() string {
	b, err := os.ReadFile(c.log)
	if err != nil {
		return "(no output)"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	if s := strings.TrimSpace(string(b)); s != "" {
		return s
	}
	return "(no output)"
}

// freeAddr returns a loopback address nothing listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// findDriftcar is bin, or a build of ./cmd/driftcar of the module around
// the working directory into dir, or the driftcar next to this binary.
func findDriftcar(ctx context.Context, bin, dir string, log func(string, ...any)) (string, error) {
	if bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("cannot use --driftcar-bin: %w", err)
		}
		return filepath.Abs(bin)
	}
	root, err := moduleRoot()
	if err == nil {
		log("building driftcar (go build ./cmd/driftcar)")
		out := filepath.Join(dir, "bin", "driftcar")
		if err = goBuild(ctx, root, out, "./cmd/driftcar"); err == nil {
			return out, nil
		}
	}
	if exe, xerr := os.Executable(); xerr == nil {
		if sib := filepath.Join(filepath.Dir(exe), "driftcar"); isFile(sib) {
			return sib, nil
		}
	}
	return "", fmt.Errorf("cannot build driftcar (%w); pass --driftcar-bin or --mode inprocess", err)
}

// moduleRoot finds the driftcar module's root above the working
// directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/driftcar/driftcar\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the driftcar module")
		}
		dir = parent
	}
}

func goBuild(ctx context.Context, dir, out, pkg string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return errors.New("go is not installed")
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, bytes.TrimSpace(b))
	}
	return nil
}

// findNginx returns nginx's path and version, or "" when not installed.
func findNginx() (bin, version string) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
			if isFile(p) {
				bin = p
				break
			}
		}
	}
	if bin == "" {
		return "", ""
	}
	out, _ := exec.Command(bin, "-v").CombinedOutput()
	return bin, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version: "))
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}
