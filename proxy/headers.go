package proxy

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"net"
	"net/netip"

	"github.com/valyala/fasthttp"
)

// hopHeaders are the connection-specific fields of RFC 9110 §7.6.1 plus the
// legacy ones every proxy strips (Keep-Alive, Proxy-Connection). A proxy
// must not forward them.
var hopHeaders = []string{
	"Connection",
	"Proxy-Connection",
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Te",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}

const (
	headerRequestID     = "X-Request-Id"
	headerForwardedFor  = "X-Forwarded-For"
	headerArmOverride   = "X-Driftcar-Arm"
	headerConnection    = "Connection"
	requestIDRandomSize = 16
)

// stripRequestHopHeaders removes hop-by-hop fields, including those the
// Connection field names, and clears fasthttp's connection-close flag so the
// upstream connection stays in the keep-alive pool.
// scratch holds a copy of the Connection value while its tokens are
// deleted, and is returned for reuse.
func stripRequestHopHeaders(h *fasthttp.RequestHeader, scratch []byte) []byte {
	if conn := h.Peek(headerConnection); len(conn) > 0 {
		scratch = append(scratch[:0], conn...)
		forEachToken(scratch, h.DelBytes)
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
	h.ResetConnectionClose()
	return scratch
}

// stripResponseHopHeaders is stripRequestHopHeaders for responses.
func stripResponseHopHeaders(h *fasthttp.ResponseHeader, scratch []byte) []byte {
	if conn := h.Peek(headerConnection); len(conn) > 0 {
		scratch = append(scratch[:0], conn...)
		forEachToken(scratch, h.DelBytes)
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
	h.ResetConnectionClose()
	return scratch
}

// forEachToken calls f for each non-empty, space-trimmed token of a
// comma-separated list, except "close" and "keep-alive", which fasthttp
// handles itself.
func forEachToken(list []byte, f func([]byte)) {
	for len(list) > 0 {
		var tok []byte
		if i := bytes.IndexByte(list, ','); i >= 0 {
			tok, list = list[:i], list[i+1:]
		} else {
			tok, list = list, nil
		}
		tok = bytes.TrimSpace(tok)
		if len(tok) == 0 || bytes.EqualFold(tok, []byte("close")) || bytes.EqualFold(tok, []byte("keep-alive")) {
			continue
		}
		f(tok)
	}
}

// appendForwardedFor appends the client IP to X-Forwarded-For, using buf as
// scratch space, and returns buf for reuse.
func appendForwardedFor(h *fasthttp.RequestHeader, remote net.Addr, buf []byte) []byte {
	tcp, ok := remote.(*net.TCPAddr)
	if !ok {
		return buf
	}
	ip, ok := netip.AddrFromSlice(tcp.IP)
	if !ok {
		return buf
	}
	buf = buf[:0]
	if prior := h.Peek(headerForwardedFor); len(prior) > 0 {
		buf = append(buf, prior...)
		buf = append(buf, ", "...)
	}
	buf = ip.Unmap().AppendTo(buf)
	h.SetBytesV(headerForwardedFor, buf)
	return buf
}

// ensureRequestID returns the request's X-Request-Id, setting a random one
// first if the client sent none.
func ensureRequestID(h *fasthttp.RequestHeader) []byte {
	if id := h.Peek(headerRequestID); len(id) > 0 {
		return id
	}
	var raw [requestIDRandomSize]byte
	putUint64(raw[:8], rand.Uint64())
	putUint64(raw[8:], rand.Uint64())
	var id [2 * requestIDRandomSize]byte
	hex.Encode(id[:], raw[:])
	h.SetBytesV(headerRequestID, id[:])
	return h.Peek(headerRequestID)
}

func putUint64(b []byte, v uint64) {
	_ = b[7]
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}
