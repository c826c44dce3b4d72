package modelstub

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"

	"github.com/driftcar/driftcar/internal/testupstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, testupstream.GoleakOptions...) }

func post(t *testing.T, addr string, p Protocol) (int, []byte, time.Duration) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + p.Path())
	req.Header.SetMethod("POST")
	req.SetBody(p.RequestBody())
	c := &fasthttp.HostClient{Addr: addr}
	defer c.CloseIdleConnections()
	start := time.Now()
	if err := c.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), time.Since(start)
}

func TestStub(t *testing.T) {
	for _, c := range []struct {
		name   string
		opts   Options
		status int
		delay  time.Duration
	}{
		{"v1", Options{}, 200, 0},
		{"v2 delayed", Options{Protocol: V2, Delay: 50 * time.Millisecond}, 200, 50 * time.Millisecond},
		{"always failing", Options{ErrorRate: 1}, 500, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Start("127.0.0.1:0", c.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Close() }()
			p := c.opts.Protocol
			if p == "" {
				p = V1
			}
			status, body, took := post(t, s.Addr(), p)
			if status != c.status || took < c.delay {
				t.Errorf("status %d after %v; want %d after at least %v", status, took, c.status, c.delay)
			}
			if status == 200 && !bytes.Equal(body, p.ResponseBody()) {
				t.Errorf("body %s; want %s", body, p.ResponseBody())
			}
			if s.Requests() != 1 || s.Errors() != int64(c.status/500) {
				t.Errorf("counted %d requests, %d errors", s.Requests(), s.Errors())
			}
		})
	}
	if _, err := Start("127.0.0.1:0", Options{ErrorRate: 2}); err == nil {
		t.Error("error rate 2 accepted")
	}
}

func TestProtocols(t *testing.T) {
	for _, name := range []string{"v1", "kserve-v1", "v2", "open-inference-v2"} {
		p, err := ParseProtocol(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range [][]byte{p.RequestBody(), p.ResponseBody()} {
			if !json.Valid(b) {
				t.Errorf("%s: invalid JSON %s", name, b)
			}
		}
	}
	if _, err := ParseProtocol("v3"); err == nil {
		t.Error("v3 parsed")
	}
	if V1.ConfigName() != "kserve-v1" || V2.ConfigName() != "open-inference-v2" {
		t.Error("config names")
	}
}
