package demo

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// modelServer serves one model over KServe v1: {"instances":[{...}]} in,
// {"predictions":[[p_reject, p_approve], ...]} out.
type modelServer struct {
	name string
	m    *model
	srv  *fasthttp.Server
	ln   net.Listener
	pool fastjson.ParserPool
}

func startModel(name string, m *model) (*modelServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot start the %s model server: %w", name, err)
	}
	s := &modelServer{name: name, m: m, ln: ln}
	s.srv = &fasthttp.Server{Handler: s.handle, NoDefaultServerHeader: true}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *modelServer) addr() string { return s.ln.Addr().String() }

func (s *modelServer) stop(ctx context.Context) { _ = s.srv.ShutdownWithContext(ctx) }

func (s *modelServer) handle(ctx *fasthttp.RequestCtx) {
	p := s.pool.Get()
	defer s.pool.Put(p)
	v, err := p.ParseBytes(ctx.PostBody())
	if err != nil {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.SetBodyString(`{"error":"body is not JSON"}`)
		return
	}
	instances := v.GetArray("instances")
	out := make([]byte, 0, 64+32*len(instances))
	out = append(out, `{"predictions":[`...)
	for i, in := range instances {
		a := applicant{
			Age:       in.GetFloat64("age"),
			Income:    in.GetFloat64("income"),
			DebtRatio: in.GetFloat64("debt_ratio"),
			Country:   string(in.GetStringBytes("country")),
			Channel:   string(in.GetStringBytes("channel")),
		}
		pa := s.m.approve(a)
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '[')
		out = strconv.AppendFloat(out, 1-pa, 'f', 6, 64)
		out = append(out, ',')
		out = strconv.AppendFloat(out, pa, 'f', 6, 64)
		out = append(out, ']')
	}
	out = append(out, `],"model_name":"`...)
	out = append(out, s.name...)
	out = append(out, `"}`...)
	ctx.SetContentType("application/json")
	ctx.SetBody(out)
}

// servers are the demo's three models, and with --grpc their gRPC servers.
type servers struct {
	live, canary, shadow    *modelServer
	glive, gcanary, gshadow *grpcModel
}

func (s *servers) stop(ctx context.Context) {
	var wg sync.WaitGroup
	for _, m := range []*modelServer{s.live, s.canary, s.shadow} {
		if m != nil {
			wg.Add(1)
			go func() { defer wg.Done(); m.stop(ctx) }()
		}
	}
	for _, g := range []*grpcModel{s.glive, s.gcanary, s.gshadow} {
		if g != nil {
			wg.Add(1)
			go func() { defer wg.Done(); g.stop(ctx) }()
		}
	}
	wg.Wait()
}
