package proxy

import (
	"bufio"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// Each dropped field is removed even when it is the only one, in any case
// a client may send it: the one-pass check must not miss it.
func TestStripRequestHeadersEachField(t *testing.T) {
	for _, name := range requestDropped {
		for _, sent := range []string{name, strings.ToLower(name), strings.ToUpper(name)} {
			value := "x"
			if strings.EqualFold(name, "Transfer-Encoding") {
				value = "chunked"
			}
			raw := "POST /p HTTP/1.1\r\nHost: model\r\nX-Keep: 1\r\n" + sent + ": " + value + "\r\n"
			if strings.EqualFold(name, "Transfer-Encoding") {
				raw += "\r\n2\r\nab\r\n0\r\n\r\n"
			} else {
				raw += "Content-Length: 2\r\n\r\nab"
			}
			var req fasthttp.Request
			if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
				t.Fatalf("%s: %v", sent, err)
			}
			stripRequestHeaders(&req.Header, nil)
			if v := req.Header.Peek(name); len(v) > 0 {
				t.Errorf("%s: still there after stripping: %q", sent, v)
			}
			if string(req.Header.Peek("X-Keep")) != "1" {
				t.Errorf("%s: X-Keep was removed too", sent)
			}
		}
	}
}

func TestStripResponseHopHeadersEachField(t *testing.T) {
	for _, name := range hopHeaders {
		if name == "Transfer-Encoding" {
			continue // fasthttp decodes a chunked body and sets Content-Length itself
		}
		raw := "HTTP/1.1 200 OK\r\nX-Keep: 1\r\n" + strings.ToLower(name) + ": x\r\nContent-Length: 2\r\n\r\nab"
		var resp fasthttp.Response
		if err := resp.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		stripResponseHopHeaders(&resp.Header, nil)
		if v := resp.Header.Peek(name); len(v) > 0 {
			t.Errorf("%s: still there after stripping: %q", name, v)
		}
		if string(resp.Header.Peek("X-Keep")) != "1" {
			t.Errorf("%s: X-Keep was removed too", name)
		}
	}
}

// The field a Connection value names is removed with it.
func TestStripRequestHeadersConnectionTokens(t *testing.T) {
	raw := "GET /p HTTP/1.1\r\nHost: model\r\nConnection: X-Hop\r\nX-Hop: secret\r\nX-Keep: 1\r\n\r\n"
	var req fasthttp.Request
	if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatal(err)
	}
	stripRequestHeaders(&req.Header, nil)
	for _, name := range []string{"Connection", "X-Hop"} {
		if v := req.Header.Peek(name); len(v) > 0 {
			t.Errorf("%s: still there: %q", name, v)
		}
	}
	if string(req.Header.Peek("X-Keep")) != "1" {
		t.Error("X-Keep was removed too")
	}
}
