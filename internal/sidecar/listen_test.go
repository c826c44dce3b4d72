package sidecar

import (
	"net"
	"testing"
	"time"
)

// listenOn binds addr, retrying briefly in case the port is still being
// released.
func listenOn(t *testing.T, addr string) net.Listener {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if time.Now().After(deadline) {
			t.Fatalf("cannot listen on %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
