package loadgen

import (
	"time"

	"github.com/valyala/fasthttp"
)

// HTTPOptions configure an HTTP requester.
type HTTPOptions struct {
	// Addr is the server's host:port. Required.
	Addr string
	// Method defaults to POST.
	Method string
	// Path defaults to "/".
	Path string
	// Body is sent with every request.
	Body []byte
	// ContentType defaults to application/json.
	ContentType string
	// Timeout bounds one request, from send to the end of the response.
	// Default 5s.
	Timeout time.Duration
	// MaxConns caps the open connections. It must be at least the
	// requests in flight: OpenOptions.MaxInFlight or ClosedOptions.Conns.
	// Default DefaultMaxInFlight.
	MaxConns int
}

// HTTP sends the same request over keep-alive connections with a
// fasthttp.HostClient. It is safe for concurrent use.
type HTTP struct {
	hc      *fasthttp.HostClient
	tmpl    fasthttp.Request
	timeout time.Duration
}

var _ Requester = (*HTTP)(nil)

// NewHTTP returns a requester for opts.
func NewHTTP(opts HTTPOptions) *HTTP {
	if opts.Method == "" {
		opts.Method = fasthttp.MethodPost
	}
	if opts.Path == "" {
		opts.Path = "/"
	}
	if opts.ContentType == "" {
		opts.ContentType = "application/json"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxInFlight
	}
	h := &HTTP{
		hc: &fasthttp.HostClient{
			Addr:                          opts.Addr,
			MaxConns:                      opts.MaxConns,
			MaxIdleConnDuration:           30 * time.Second,
			NoDefaultUserAgentHeader:      true,
			DisablePathNormalizing:        true,
			DisableHeaderNamesNormalizing: false,
		},
		timeout: opts.Timeout,
	}
	h.tmpl.Header.SetMethod(opts.Method)
	h.tmpl.SetRequestURI(opts.Path)
	h.tmpl.Header.SetHost(opts.Addr)
	h.tmpl.Header.SetContentType(opts.ContentType)
	h.tmpl.SetBody(opts.Body)
	return h
}

// Do sends one request and reads the whole response.
func (h *HTTP) Do() (int, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	h.tmpl.CopyTo(req)
	err := h.hc.DoTimeout(req, resp, h.timeout)
	status := resp.StatusCode()
	fasthttp.ReleaseRequest(req)
	fasthttp.ReleaseResponse(resp)
	if err != nil {
		return 0, err
	}
	return status, nil
}

// Close closes the idle connections.
func (h *HTTP) Close() { h.hc.CloseIdleConnections() }
