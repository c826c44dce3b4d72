package xds

import (
	"testing"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// FuzzDecodeResponse feeds arbitrary bytes as a serialized
// DiscoveryResponse of every subscribed type, then builds a config from
// what decoded. Garbage must give errors (NACKs), never a panic.
func FuzzDecodeResponse(f *testing.F) {
	for k := range numKinds {
		resp := &discoveryv3.DiscoveryResponse{VersionInfo: "1", TypeUrl: kindURLs[k], Nonce: "n",
			Resources: []*anypb.Any{{TypeUrl: kindURLs[k], Value: []byte{0x0a, 0x04, 'l', 'i', 'v', 'e'}}}}
		if b, err := proto.Marshal(resp); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var resp discoveryv3.DiscoveryResponse
		if proto.Unmarshal(data, &resp) != nil {
			return
		}
		v := newView()
		for k := range numKinds {
			decoded, err := decodeResponse(k, &resp, nil, ExtensionName)
			if err != nil {
				continue
			}
			v = v.with(k, decoded, true)
		}
		_, _, _ = build(map[string]any{"listen": "127.0.0.1:0", "admin": "127.0.0.1:0"}, v, ExtensionName)
	})
}
