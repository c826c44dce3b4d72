package proxy

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// reject returns the status and message for requests driftcar refuses to
// forward, or 0. fasthttp itself rejects malformed heads, conflicting
// Content-Length values, unknown transfer codings, bad chunk sizes and
// oversized heads with 400; this adds the rest of a proxy's duties.
func reject(req *fasthttp.Request) (int, string) {
	h := &req.Header
	// Content-Length with Transfer-Encoding is a request-smuggling vector
	// (RFC 9112 §6.3); reject it, as Envoy does by default. fasthttp
	// silently prefers chunked, so look at the raw head of requests that
	// may carry a body.
	if !h.IsGet() && !h.IsHead() && hasBoth(h.RawHeaders(), "content-length", "transfer-encoding") {
		return fasthttp.StatusBadRequest, "request has both Content-Length and Transfer-Encoding"
	}
	if h.IsConnect() {
		return fasthttp.StatusMethodNotAllowed, "CONNECT is not supported: driftcar is not a forward proxy"
	}
	for _, c := range h.RequestURI() {
		if c < 0x21 || c > 0x7e {
			return fasthttp.StatusBadRequest, "request target has bytes outside printable ASCII; percent-encode them"
		}
	}
	return 0, ""
}

// hasBoth reports whether the raw header block has fields called a and b
// (given in lower case), in any case.
func hasBoth(raw []byte, a, b string) bool {
	var seenA, seenB bool
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		k, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		k = bytes.TrimSpace(k)
		seenA = seenA || bytes.EqualFold(k, []byte(a))
		seenB = seenB || bytes.EqualFold(k, []byte(b))
	}
	return seenA && seenB
}
