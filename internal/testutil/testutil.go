package testutil

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PollEvery is the pause between two checks of Eventually.
const PollEvery = 5 * time.Millisecond

// Poll checks cond every every until it holds or within has passed, and
// reports whether it held. cond runs at least once.
func Poll(within, every time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(every)
	}
	return true
}

// Eventually polls cond every PollEvery until it holds, and fails tb if it
// does not within the given time; what names the condition.
func Eventually(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !Poll(within, PollEvery, cond) {
		tb.Fatalf("not true within %s: %s", within, what)
	}
}

// FreePort returns a 127.0.0.1 address that nothing listens on now.
func FreePort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		tb.Fatal(err)
	}
	return addr
}

// Listen binds addr, retrying for up to 5s while a previous owner
// releases the port. The listener closes when the test ends (and stays
// referenced until then, so the collector cannot close it earlier).
func Listen(tb testing.TB, addr string) net.Listener {
	tb.Helper()
	var ln net.Listener
	var err error
	if !Poll(5*time.Second, 10*time.Millisecond, func() bool {
		ln, err = net.Listen("tcp", addr)
		return err == nil
	}) {
		tb.Fatalf("cannot listen on %s: %v", addr, err)
	}
	tb.Cleanup(func() { _ = ln.Close() })
	return ln
}

// WriteFile writes content to path in place, mode 0600.
func WriteFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// ReplaceFile replaces path atomically with content, writing a temporary
// file next to it and renaming it, as an editor or a Kubernetes ConfigMap
// update does.
func ReplaceFile(tb testing.TB, path, content string) {
	tb.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}
