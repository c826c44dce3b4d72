package proxy

import (
	"bytes"
	"encoding/hex"
	"iter"
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

// requestDropped are the fields removed from every forwarded request:
// the hop-by-hop ones, driftcar's arm override, and Expect (the server
// has already answered 100-continue).
var requestDropped = append([]string{headerArmOverride, "Expect"}, hopHeaders...)

const (
	headerRequestID     = "X-Request-Id"
	headerForwardedFor  = "X-Forwarded-For"
	headerArmOverride   = "X-Driftcar-Arm"
	headerConnection    = "Connection"
	requestIDRandomSize = 16
)

// stripRequestHeaders removes the requestDropped fields, including those
// the Connection field names, and clears fasthttp's connection-close flag
// so the upstream connection stays in the keep-alive pool.
// scratch holds a copy of the Connection value while its tokens are
// deleted, and is returned for reuse.
func stripRequestHeaders(h *fasthttp.RequestHeader, scratch []byte) []byte {
	if hasAny(h.All(), requestDropped) {
		scratch = dropHeaders(h.Peek(headerConnection), requestDropped, h.Del, h.DelBytes, scratch)
	}
	h.ResetConnectionClose()
	return scratch
}

// stripResponseHopHeaders is stripRequestHeaders for responses, which
// carry only the hop-by-hop fields to remove.
func stripResponseHopHeaders(h *fasthttp.ResponseHeader, scratch []byte) []byte {
	if hasAny(h.All(), hopHeaders) {
		scratch = dropHeaders(h.Peek(headerConnection), hopHeaders, h.Del, h.DelBytes, scratch)
	}
	h.ResetConnectionClose()
	return scratch
}

// hasAny reports whether a field is one of names. One pass over the fields
// is much cheaper than a delete per name, and most messages have none.
func hasAny(fields iter.Seq2[[]byte, []byte], names []string) bool {
	for key := range fields {
		for _, name := range names {
			if len(key) == len(name) && bytes.EqualFold(key, []byte(name)) {
				return true
			}
		}
	}
	return false
}

// dropHeaders deletes the fields the Connection value names, then names.
func dropHeaders(connection []byte, names []string, del func(string), delBytes func([]byte), scratch []byte) []byte {
	if len(connection) > 0 {
		scratch = append(scratch[:0], connection...)
		forEachToken(scratch, delBytes)
	}
	for _, name := range names {
		del(name)
	}
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
