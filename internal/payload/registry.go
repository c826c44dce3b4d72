package payload

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Protocol names the wire format of a route's requests and responses. It
// is a handle into the protocol registry; the zero value is no protocol.
type Protocol uint8

// The built-in protocols. Each layout is one file (kservev1.go,
// openinference.go, openai.go); json has none, so every path is
// configured.
const (
	// KServeV1 is the KServe v1 / TF Serving REST protocol.
	KServeV1 Protocol = iota + 1
	// OpenInferenceV2 is the Open Inference (KServe v2) protocol.
	OpenInferenceV2
	// JSON is any JSON body; every feature and the prediction need a path.
	JSON
	// OpenAI is the OpenAI-compatible API of LLM servers: chat
	// completions, completions and embeddings, streamed or not.
	OpenAI
)

// ProtocolInfo describes a protocol for Register.
type ProtocolInfo struct {
	// Name is the configuration name, e.g. "kserve-v1".
	Name string
	// Codec reads the protocol's layout. Nil for a paths-only protocol.
	Codec Codec
	// Tensors allows FeatureSpec.Tensor and PredictionSpec.Output.
	Tensors bool
}

// Codec reads the layout of one protocol's bodies. It holds no state:
// the Request and Response it is given carry the document and the specs.
type Codec interface {
	// Rows reads a request object: it calls SetRows once and fills the
	// features that ByLayout reports. Features with a path are filled
	// afterwards by the decoder.
	Rows(req *Request) error
	// Predictions appends the predictions of a response object, one per
	// row, with Add or AddInvalid.
	Predictions(resp *Response) error
}

var registry = struct {
	sync.RWMutex
	protocols []ProtocolInfo
}{protocols: []ProtocolInfo{
	{},
	{Name: "kserve-v1", Codec: kserveV1{}},
	{Name: "open-inference-v2", Codec: openInferenceV2{}, Tensors: true},
	{Name: "json"},
	{Name: "openai", Codec: openAI{}},
}}

// Register adds a protocol and returns its handle. Call it from an init
// function: it panics on an empty or duplicate name, or past 255
// protocols.
func Register(info ProtocolInfo) Protocol {
	registry.Lock()
	defer registry.Unlock()
	if info.Name == "" {
		panic("payload: Register: empty protocol name")
	}
	for _, p := range registry.protocols {
		if p.Name == info.Name {
			panic("payload: Register: duplicate protocol " + info.Name)
		}
	}
	if len(registry.protocols) > 255 {
		panic("payload: Register: too many protocols")
	}
	registry.protocols = append(registry.protocols, info)
	return Protocol(len(registry.protocols) - 1)
}

func (p Protocol) info() (ProtocolInfo, bool) {
	registry.RLock()
	defer registry.RUnlock()
	if p == 0 || int(p) >= len(registry.protocols) {
		return ProtocolInfo{}, false
	}
	return registry.protocols[p], true
}

// String returns the configuration name of p.
func (p Protocol) String() string {
	if info, ok := p.info(); ok {
		return info.Name
	}
	return fmt.Sprintf("Protocol(%d)", uint8(p))
}

// Tensors reports whether p's features may name tensors and its
// prediction an output.
func (p Protocol) Tensors() bool {
	info, _ := p.info()
	return info.Tensors
}

// PathsOnly reports whether every feature and the prediction of p need a
// path, because p has no layout of its own.
func (p Protocol) PathsOnly() bool {
	info, ok := p.info()
	return ok && info.Codec == nil
}

// ProtocolNames returns the registered protocol names in order.
func ProtocolNames() []string {
	registry.RLock()
	defer registry.RUnlock()
	var names []string
	for _, p := range registry.protocols[1:] {
		names = append(names, p.Name)
	}
	return names
}

// ParseProtocol returns the registered protocol named s.
func ParseProtocol(s string) (Protocol, error) {
	registry.RLock()
	i := slices.IndexFunc(registry.protocols, func(p ProtocolInfo) bool { return p.Name == s })
	registry.RUnlock()
	if i <= 0 {
		return 0, fmt.Errorf("unknown protocol %q (want %s)", s, strings.Join(ProtocolNames(), ", "))
	}
	return Protocol(i), nil
}
