package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// exchange writes raw to a fresh connection and returns the status lines
// of every response read until the connection closes or goes quiet.
func exchange(t *testing.T, addr, raw string, quiet time.Duration) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(quiet))
	br := bufio.NewReader(c)
	var statuses []string
	for {
		var resp fasthttp.Response
		if err := resp.Read(br); err != nil {
			return statuses
		}
		statuses = append(statuses, fmt.Sprintf("%d %s", resp.StatusCode(), fasthttp.StatusMessage(resp.StatusCode())))
	}
}

func TestHostileRequests(t *testing.T) {
	rec := &recorder{}
	up := startUpstream(t, rec.handle)
	p := startProxy(t, mustParse(t, oneRoute(up)), Options{})
	cases := []struct {
		name, raw string
		want      []string // status lines, in order
		forwarded int      // requests the upstream saw
		wantURI   string
	}{
		{"Content-Length with Transfer-Encoding", "POST / HTTP/1.1\r\nHost: m\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", []string{"400 Bad Request"}, 0, ""},
		{"conflicting Content-Length", "POST / HTTP/1.1\r\nHost: m\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", []string{"400 Bad Request"}, 0, ""},
		{"duplicate Content-Length", "POST / HTTP/1.1\r\nHost: m\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", []string{"400 Bad Request"}, 0, ""},
		{"obfuscated Transfer-Encoding value", "POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", []string{"400 Bad Request"}, 0, ""},
		{"space before colon", "POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding : chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", []string{"400 Bad Request"}, 0, ""},
		{"coding list", "POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", []string{"400 Bad Request"}, 0, ""},
		{"bad chunk size", "POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", []string{"400 Bad Request"}, 0, ""},
		{"oversized request line", "GET /" + strings.Repeat("a", 20000) + " HTTP/1.1\r\nHost: m\r\n\r\n", []string{"400 Bad Request"}, 0, ""},
		{"oversized header", "GET / HTTP/1.1\r\nHost: m\r\nX-Big: " + strings.Repeat("b", 20000) + "\r\n\r\n", []string{"400 Bad Request"}, 0, ""},
		{"too many headers", "GET / HTTP/1.1\r\nHost: m\r\n" + strings.Repeat("X-H: 1\r\n", 2000) + "\r\n", []string{"431 Request Header Fields Too Large"}, 0, ""},
		{"CONNECT", "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n", []string{"405 Method Not Allowed"}, 0, ""},
		{"invalid method", "G@T / HTTP/1.1\r\nHost: m\r\n\r\n", []string{"400 Bad Request"}, 0, ""},
		{"invalid UTF-8 in the path", "GET /\xff\xfe HTTP/1.1\r\nHost: m\r\n\r\n", []string{"400 Bad Request"}, 0, ""},
		{"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", []string{"400 Bad Request"}, 0, ""},
		// Not an open proxy: the upstream comes from config, whatever the
		// request names.
		{"absolute-form URI", "GET http://evil.example/x HTTP/1.1\r\nHost: evil.example\r\n\r\n", []string{"200 OK"}, 1, "/x"},
		{"Host naming another host", "GET /y HTTP/1.1\r\nHost: evil.example\r\n\r\n", []string{"200 OK"}, 1, "/y"},
		// Upgrade is hop-by-hop: it is dropped and the request is served
		// as a plain one.
		{"Upgrade", "GET /u HTTP/1.1\r\nHost: m\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", []string{"200 OK"}, 1, "/u"},
		{"pipelined", "GET /a HTTP/1.1\r\nHost: m\r\n\r\nGET /b HTTP/1.1\r\nHost: m\r\n\r\n", []string{"200 OK", "200 OK"}, 2, "/b"},
		{"HTTP/1.0 without Host", "GET /old HTTP/1.0\r\n\r\n", []string{"200 OK"}, 1, "/old"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, before := rec.get()
			got := exchange(t, p.addr, tc.raw, 2*time.Second)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("responses: got %q; want %q", got, tc.want)
			}
			last, after := rec.get()
			if after-before != tc.forwarded {
				t.Errorf("forwarded %d requests; want %d", after-before, tc.forwarded)
			}
			if tc.wantURI != "" && last.uri != tc.wantURI {
				t.Errorf("upstream saw %q; want %q", last.uri, tc.wantURI)
			}
		})
	}
}

func TestSlowClientsTimeOut(t *testing.T) {
	rec := &recorder{}
	up := startUpstream(t, rec.handle)
	cfg := mustParse(t, strings.Replace(oneRoute(up), "max_request_body: 9MiB", "client: { read_timeout: 300ms }", 1))
	p := startProxy(t, cfg, Options{})
	for _, tc := range []struct{ name, first string }{
		{"slow headers", "GET / HTTP/1.1\r\nHost: m\r\nX-Slow: "},
		{"slow body", "POST / HTTP/1.1\r\nHost: m\r\nContent-Length: 100\r\n\r\nonly part of it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			if _, err := io.WriteString(c, tc.first); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			data, _ := io.ReadAll(c) // returns when driftcar closes
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("connection held %s; want closed after the 300ms read timeout", took)
			}
			if len(data) > 0 && !strings.HasPrefix(string(data), "HTTP/1.1 408") {
				t.Errorf("answer: got %.60q; want a 408 or a close", data)
			}
		})
	}
	if _, n := rec.get(); n != 0 {
		t.Errorf("upstream saw %d requests from slow clients; want 0", n)
	}
}
