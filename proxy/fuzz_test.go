package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// FuzzRawRequest feeds raw bytes to the proxy over an in-memory listener
// whose connections end their input right after the bytes, as a client
// that half-closes would. It must never panic, must answer or close, and
// must never forward a request that carries both Content-Length and
// Transfer-Encoding, or a field the proxy strips.
func FuzzRawRequest(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: m\r\n\r\n",
		"POST /v1/models/m:predict HTTP/1.1\r\nHost: m\r\nContent-Length: 2\r\n\r\n{}",
		"POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: m\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET http://evil/ HTTP/1.1\r\nHost: evil\r\n\r\nGET /b HTTP/1.1\r\nHost: m\r\n\r\n",
		"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: m\r\nupgrade: h2c\r\nTE: trailers\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
		"GET / HTTP/1.1\r\nHost: m\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nX-Driftcar-Arm: canary\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	rec := &recorder{resp: func(ctx *fasthttp.RequestCtx) {
		if len(ctx.Request.Header.Peek("Transfer-Encoding")) > 0 && len(ctx.Request.Header.Peek("Content-Length")) > 0 {
			panic("upstream got Content-Length and Transfer-Encoding together")
		}
		for _, name := range requestDropped {
			if name == "Connection" || name == "Transfer-Encoding" {
				continue // fasthttp's own framing of the forwarded request
			}
			if v := ctx.Request.Header.Peek(name); len(v) > 0 {
				panic("upstream got " + name + ": " + string(v))
			}
		}
		ctx.SetBodyString("{}")
	}}
	up := startUpstream(f, rec.handle)
	s, err := New(mustParse(f, oneRoute(up)), Options{Metrics: NewMetrics(nilRegistry())})
	if err != nil {
		f.Fatal(err)
	}
	ln := newMemListener()
	go func() { _ = s.Serve(ln) }()
	f.Cleanup(func() { _ = ln.Close() })
	f.Fuzz(func(t *testing.T, raw []byte) {
		c := ln.dial(raw)
		select {
		case <-c.closed:
		case <-time.After(10 * time.Second):
			t.Fatalf("the proxy kept a connection open 10 s after its input ended; input %q", raw)
		}
		br := bufio.NewReader(bytes.NewReader(c.output()))
		for {
			var resp fasthttp.Response
			if err := resp.Read(br); err != nil {
				return // end of output or a truncated answer: both fine
			}
		}
	})
}

func nilRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

// memListener hands out memConns queued by dial.
type memListener struct {
	conns chan *memConn
	done  chan struct{}
	once  sync.Once
}

func newMemListener() *memListener {
	return &memListener{conns: make(chan *memConn), done: make(chan struct{})}
}

func (l *memListener) dial(input []byte) *memConn {
	c := &memConn{in: bytes.NewReader(input), closed: make(chan struct{})}
	l.conns <- c
	return c
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *memListener) Addr() net.Addr { return memAddr{} }

// memConn reads its input, then io.EOF; it keeps what the server writes.
type memConn struct {
	in     *bytes.Reader
	mu     sync.Mutex
	out    bytes.Buffer
	once   sync.Once
	closed chan struct{}
}

func (c *memConn) Read(p []byte) (int, error) { return c.in.Read(p) }

func (c *memConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.closed:
		return 0, errors.New("write on closed connection")
	default:
	}
	return c.out.Write(p)
}

func (c *memConn) output() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Bytes()
}

func (c *memConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *memConn) LocalAddr() net.Addr              { return memAddr{} }
func (c *memConn) RemoteAddr() net.Addr             { return memAddr{} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

type memAddr struct{}

func (memAddr) Network() string { return "memory" }
func (memAddr) String() string  { return "127.0.0.1:1" }
