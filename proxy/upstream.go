package proxy

import (
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/config"
)

// upstream is one model server and its keep-alive connection pool.
type upstream struct {
	name    string
	client  *fasthttp.HostClient
	timeout time.Duration
}

func (u *upstream) do(req *fasthttp.Request, resp *fasthttp.Response) error {
	if u == nil {
		return ErrNoUpstream
	}
	return u.client.DoTimeout(req, resp, u.timeout)
}

// poolKey identifies a connection pool: upstreams with equal keys share
// one across reloads, so a config change keeps warm connections.
type poolKey struct {
	address        string
	connectTimeout time.Duration
	maxConns       int
	idleTimeout    time.Duration
}

func keyOf(u config.Upstream) poolKey {
	return poolKey{
		address:        u.Address,
		connectTimeout: time.Duration(u.ConnectTimeout),
		maxConns:       u.MaxConns,
		idleTimeout:    time.Duration(u.IdleTimeout),
	}
}

// maxResponseBody caps a response read from an upstream.
const maxResponseBody = 256 << 20

func newHostClient(k poolKey) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                          k.address,
		MaxConns:                      k.maxConns,
		MaxIdleConnDuration:           k.idleTimeout,
		MaxConnWaitTimeout:            k.connectTimeout,
		MaxResponseBodySize:           maxResponseBody,
		NoDefaultUserAgentHeader:      true,
		DisablePathNormalizing:        true,
		DisableHeaderNamesNormalizing: false,
		MaxIdemponentCallAttempts:     1,
		RetryIfErr: func(*fasthttp.Request, int, error) (bool, bool) {
			return false, false
		},
		DialTimeout: func(addr string, remaining time.Duration) (net.Conn, error) {
			return fasthttp.DialTimeout(addr, min(remaining, k.connectTimeout))
		},
	}
}
