package grpcproxy

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
)

// streamDesc describes every relayed call: the relay does not know a
// method's shape, so it treats each as bidirectional.
var streamDesc = &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}

// connKey is what a ClientConn's settings depend on; conns whose key is
// unchanged are kept across reloads.
type connKey struct {
	addr           string
	connectTimeout time.Duration
}

// conn is one upstream's ClientConn. grpc-go multiplexes calls over it and
// reconnects with backoff when the upstream goes away.
type conn struct {
	key connKey
	cc  *grpc.ClientConn
}

func newConn(k connKey, maxRecv, maxSend int) (*conn, error) {
	bo := backoff.DefaultConfig
	bo.MaxDelay = 10 * time.Second
	cc, err := grpc.NewClient("dns:///"+k.addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bo, MinConnectTimeout: k.connectTimeout}),
		grpc.WithDefaultCallOptions(
			grpc.ForceCodec(codec{}),
			grpc.MaxCallRecvMsgSize(maxRecv),
			grpc.MaxCallSendMsgSize(maxSend),
		),
		grpc.WithSharedWriteBuffer(true),
	)
	if err != nil {
		return nil, fmt.Errorf("cannot create client for %s: %w", k.addr, err)
	}
	return &conn{key: k, cc: cc}, nil
}

// newStream opens the upstream half of a relayed call.
func (c *conn) newStream(ctx context.Context, method string) (grpc.ClientStream, error) {
	return c.cc.NewStream(ctx, streamDesc, method)
}
