package grpcproxy

import (
	"net"
	"slices"
	"sync"
	"testing"

	"golang.org/x/net/http2"
)

// orderConn records which connection each write went to.
type orderConn struct {
	net.Conn
	name string
	mu   *sync.Mutex
	log  *[]string
}

func (c orderConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	*c.log = append(*c.log, c.name)
	c.mu.Unlock()
	return len(p), nil
}

func TestBatchFlushesCallFramesBeforeControlFrames(t *testing.T) {
	var mu sync.Mutex
	var log []string
	conn := func(name string) *h2conn {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		c := &h2conn{}
		c.init(orderConn{Conn: a, name: name, mu: &mu, log: &log})
		return c
	}
	upstream, client := conn("upstream"), conn("client")
	var b batch
	// As when an upstream's PING arrives just before its response.
	upstream.ping(&http2.PingFrame{Data: [8]byte{1}}, &b)
	client.wmu.Lock()
	client.writeHeadersLocked(1, statusFields(0, "", true), "", true)
	client.wmu.Unlock()
	b.add(client)
	b.flush()
	if want := []string{"client", "upstream"}; !slices.Equal(log, want) {
		t.Fatalf("writes went to %v; want %v (the response first, the PING ack after)", log, want)
	}
	if len(b.conns) != 0 || len(b.control) != 0 {
		t.Errorf("batch not emptied: %d call conns, %d control conns", len(b.conns), len(b.control))
	}
}
