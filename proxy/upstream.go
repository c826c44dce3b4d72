package proxy

import (
	"cmp"
	"net"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/driftcar/driftcar/config"
)

// upstream is one model server (or several endpoints of one) and its
// keep-alive connection pools.
type upstream struct {
	name    string
	pool    *pool
	timeout time.Duration
}

func (u *upstream) do(req *fasthttp.Request, resp *fasthttp.Response) error {
	if u == nil {
		return ErrNoUpstream
	}
	return u.pool.doer.DoTimeout(req, resp, u.timeout)
}

// pool is the connection pools of one upstream: one HostClient per
// endpoint, balanced by a least-loaded LBClient when there are several.
type pool struct {
	first string // the first endpoint, the Host of HTTP/1.0 requests without one
	hosts []*fasthttp.HostClient
	doer  interface {
		DoTimeout(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) error
	}
}

func newPool(k poolKey) *pool {
	addrs := strings.Fields(k.addresses)
	p := &pool{first: addrs[0]}
	for _, addr := range addrs {
		p.hosts = append(p.hosts, newHostClient(addr, k))
	}
	if len(p.hosts) == 1 {
		p.doer = p.hosts[0]
		return p
	}
	lb := &fasthttp.LBClient{}
	for _, hc := range p.hosts {
		lb.Clients = append(lb.Clients, hc)
	}
	p.doer = lb
	return p
}

func (p *pool) closeIdle() {
	for _, hc := range p.hosts {
		hc.CloseIdleConnections()
	}
}

// poolKey identifies a connection pool: upstreams with equal keys share
// one across reloads, so a config change keeps warm connections.
type poolKey struct {
	addresses      string // joined with spaces
	connectTimeout time.Duration
	maxConns       int
	idleTimeout    time.Duration
	timeout        time.Duration // to the first response byte
	streamIdle     time.Duration
}

func keyOf(u config.Upstream) poolKey {
	return poolKey{
		addresses:      strings.Join(u.Endpoints(), " "),
		connectTimeout: time.Duration(u.ConnectTimeout),
		maxConns:       u.MaxConns,
		idleTimeout:    time.Duration(u.IdleTimeout),
		timeout:        time.Duration(u.Timeout),
		streamIdle:     cmp.Or(time.Duration(u.StreamIdleTimeout), defaultStreamIdle),
	}
}

// maxResponseBody caps a response read from an upstream.
const maxResponseBody = 256 << 20

func newHostClient(addr string, k poolKey) *fasthttp.HostClient {
	t := &transport{timeout: k.timeout, idle: k.streamIdle}
	t.streams.New = func() any { return new(upstreamStream) }
	return &fasthttp.HostClient{
		Transport:                     t,
		Addr:                          addr,
		MaxConns:                      k.maxConns,
		MaxIdleConnDuration:           k.idleTimeout,
		MaxConnWaitTimeout:            k.connectTimeout,
		MaxResponseBodySize:           maxResponseBody,
		NoDefaultUserAgentHeader:      true,
		DisablePathNormalizing:        true,
		DisableHeaderNamesNormalizing: false,
		MaxIdemponentCallAttempts:     1,
		// Most recently used first: after a burst, the extra connections
		// go idle and close after idle_timeout instead of staying warm
		// in rotation for good.
		ConnPoolStrategy: fasthttp.LIFO,
		RetryIfErr: func(*fasthttp.Request, int, error) (bool, bool) {
			return false, false
		},
		DialTimeout: func(addr string, remaining time.Duration) (net.Conn, error) {
			return fasthttp.DialTimeout(addr, min(remaining, k.connectTimeout))
		},
	}
}
