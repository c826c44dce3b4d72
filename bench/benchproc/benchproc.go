package benchproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Child is a process a benchmark started.
type Child struct {
	Cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// Start starts bin in dir with env added to this process's environment;
// its output goes to dir/output.log.
func Start(dir string, env []string, bin string, args ...string) (*Child, error) {
	logPath := filepath.Join(dir, "output.log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cannot start %s: %w", filepath.Base(bin), err)
	}
	c := &Child{Cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = f.Close()
		close(c.done)
	}()
	return c, nil
}

// Exited reports whether the process has ended.
func (c *Child) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the child's process group and, after 5 seconds,
// SIGKILL; then it kills whatever of the group is left.
func (c *Child) Stop() error {
	pid := c.Cmd.Process.Pid
	defer func() { _ = signalGroup(pid, syscall.SIGKILL) }()
	if c.Exited() {
		return nil
	}
	_ = signalGroup(pid, syscall.SIGTERM)
	select {
	case <-c.done:
		return nil
	case <-time.After(5 * time.Second):
		_ = signalGroup(pid, syscall.SIGKILL)
		<-c.done
		return fmt.Errorf("%s did not stop on SIGTERM within 5s", filepath.Base(c.Cmd.Path))
	}
}

// LogTail is the end of the child's output, for error messages.
func (c *Child) LogTail() string {
	f, err := os.Open(c.log)
	if err != nil {
		return "(no output)"
	}
	defer func() { _ = f.Close() }()
	if st, err := f.Stat(); err == nil && st.Size() > 2000 {
		_, _ = f.Seek(st.Size()-2000, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	if s := strings.TrimSpace(string(b)); s != "" {
		return s
	}
	return "(no output)"
}

// FreeAddr returns a loopback address nothing listens on now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// ModuleRoot finds the driftcar module's root above the working
// directory.
func ModuleRoot() (string, error) {
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

// GoBuild builds pkg of the module in dir into out, with env added.
func GoBuild(ctx context.Context, dir, out, pkg string, env ...string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return errors.New("go is not installed")
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, bytes.TrimSpace(b))
	}
	return nil
}

// FindNginx returns nginx's path and version, or "" when not installed.
func FindNginx() (bin, version string) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
			if IsFile(p) {
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

// IsFile reports whether path names an existing file.
func IsFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}
