package testupstream

import (
	"bufio"
	"net"
	"sync"
	"testing"
)

// Raw serves handle on a fresh 127.0.0.1 port, one goroutine per
// connection, after reading the request head (so handle sees the
// connection just past it). It returns the address and a stop function
// that closes the listener and every connection and waits for the
// handlers; stop also runs when the test ends.
func Raw(tb testing.TB, handle func(c *net.TCPConn)) (string, func()) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				handle(c.(*net.TCPConn))
			}()
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = ln.Close()
			mu.Lock()
			for _, c := range conns {
				_ = c.Close()
			}
			mu.Unlock()
			wg.Wait()
		})
	}
	tb.Cleanup(stop)
	return ln.Addr().String(), stop
}

// Resetter is a Raw upstream that resets every connection after reading
// the request head.
func Resetter(tb testing.TB) string {
	tb.Helper()
	addr, _ := Raw(tb, func(c *net.TCPConn) {
		_ = c.SetLinger(0)
		_ = c.Close()
	})
	return addr
}
