package payload

import (
	"fmt"
	"math"
	"strconv"
)

// PredictionKind says what a Prediction holds.
type PredictionKind uint8

const (
	// PredictionMissing is an absent or null prediction.
	PredictionMissing PredictionKind = iota
	// PredictionNumber is a finite number in Num; Text is its token.
	PredictionNumber
	// PredictionBool is true or false: Num is 1 or 0, Text the token.
	PredictionBool
	// PredictionLabel is a string in Text.
	PredictionLabel
	// PredictionScores is a vector of class scores: Class is the index of
	// the highest, Num its score.
	PredictionScores
	// PredictionInvalid could not be read; Reason says why.
	PredictionInvalid
	// PredictionCompletion is a generated text: Text is its finish
	// reason, Content the text, Num its completion tokens (see
	// TokensFromUsage).
	PredictionCompletion
)

// Prediction is one row's model output, as the response states it. Text
// aliases the body or the decoder's scratch memory and is valid until the
// next Decode.
type Prediction struct {
	Kind   PredictionKind
	Reason Reason // for PredictionInvalid; ReasonMissingFeature when absent
	Num    float64
	Class  int
	Text   []byte
	// Content and TokensFromUsage are set for PredictionCompletion: the
	// text, and whether Num came from the server's usage (else it counts
	// the stream's content chunks, or the characters of an answer that
	// was not streamed).
	Content         []byte
	TokensFromUsage bool
}

// String renders p for people, e.g. `0.25`, `"cat"` or `class 2 (score 0.91)`.
func (p *Prediction) String() string {
	switch p.Kind {
	case PredictionNumber:
		return strconv.FormatFloat(p.Num, 'g', -1, 64)
	case PredictionBool, PredictionLabel:
		return strconv.Quote(string(p.Text))
	case PredictionScores:
		return "class " + strconv.Itoa(p.Class) + " (score " + strconv.FormatFloat(p.Num, 'g', 6, 64) + ")"
	case PredictionInvalid:
		return "invalid (" + p.Reason.String() + ")"
	case PredictionCompletion:
		return strconv.Quote(string(p.Content)) + " (finish " + string(p.Text) + ", " + strconv.FormatFloat(p.Num, 'g', -1, 64) + " tokens)"
	}
	return "missing"
}

// ResponseDecoder reads the predictions of response bodies: the value at
// the spec's path, else the protocol's layout. Shadow comparison and
// prediction drift both read predictions through it.
//
// A ResponseDecoder is owned by one goroutine. In steady state Decode does
// not allocate.
type ResponseDecoder struct {
	proto    Protocol
	codec    Codec
	spec     PredictionSpec
	path     *jsonPath
	maxRows  int
	doc      doc
	response Response
	preds    []Prediction
	llm      llmState

	predHint, outputsHint uint32
	v2Hints               tensorHints

	pb pbMessage // a ModelInferResponse, for DecodeModelInfer
}

// NewResponseDecoder returns a ResponseDecoder for spec. Only the spec's
// Path and Output matter here; Type and Labels are the caller's.
func NewResponseDecoder(proto Protocol, spec PredictionSpec, opts DecoderOptions) (*ResponseDecoder, error) {
	info, ok := proto.info()
	if !ok {
		return nil, fmt.Errorf("unknown protocol %d", proto)
	}
	if err := CheckPrediction(proto, spec); err != nil {
		return nil, fmt.Errorf("prediction: %w", err)
	}
	opts = opts.withDefaults()
	r := &ResponseDecoder{proto: proto, codec: info.Codec, spec: spec, maxRows: opts.MaxRows}
	r.response.r = r
	r.doc.t.maxDepth = opts.MaxDepth
	if spec.Path != "" {
		r.path, _ = parsePath(spec.Path)
	}
	return r, nil
}

// CheckPrediction returns a *SpecError when protocol proto cannot read
// the predictions that the Path and Output of spec select.
func CheckPrediction(proto Protocol, spec PredictionSpec) error {
	if spec.Output != "" && !proto.Tensors() {
		return &SpecError{"output", "protocol " + proto.String() + " has no tensors"}
	}
	if spec.Path == "" {
		if proto.PathsOnly() {
			return &SpecError{"path", "required with protocol " + proto.String()}
		}
		return nil
	}
	if _, err := parsePath(spec.Path); err != nil {
		return &SpecError{"path", err.Error()}
	}
	return nil
}

var errMissingOutput = &ReasonError{ReasonMissingFeature}

// Decode returns the predictions of body, one per row, or a *ReasonError
// when the body holds none in the expected shape. The slice is reused by
// the next call.
func (r *ResponseDecoder) Decode(body []byte) ([]Prediction, error) {
	return r.DecodeBinary(body, JSONBody)
}

// DecodeBinary is Decode for a body that may use the binary tensor
// extension: headerLen is the BinaryHeader value from ParseHeaderLength,
// JSONBody for a body that is all JSON.
func (r *ResponseDecoder) DecodeBinary(body []byte, headerLen int) ([]Prediction, error) {
	r.preds = r.preds[:0]
	r.doc.reset()
	r.llm.reset()
	head, err := splitBinary(&r.doc, body, headerLen)
	if err != nil {
		return nil, err
	}
	if ec, ok := r.codec.(eventCodec); ok && r.path == nil && isEventStream(head) {
		if err := r.decodeEvents(ec, head); err != nil {
			r.preds = r.preds[:0]
			return nil, err
		}
		return r.preds, nil
	}
	if err := parseDoc(&r.doc, head); err != nil {
		return nil, err
	}
	switch {
	case r.path != nil:
		err = r.fromPath()
	case r.doc.t.nodes[0].kind != kindObject:
		err = ErrWrongType
	default:
		err = r.codec.Predictions(&r.response)
	}
	if err != nil {
		r.preds = r.preds[:0]
		return nil, err
	}
	return r.preds, nil
}

// Usage returns the token counts that the usage object of the last
// decoded answer states (OpenAI's layout), each -1 when absent.
func (r *ResponseDecoder) Usage() (prompt, completion int) {
	return r.llm.prompt, r.llm.usage
}

// fromPath reads the path: with [*], one prediction per element at the
// rest of the path; without, the elements of the array it selects are the
// rows, and any other value is one row.
func (r *ResponseDecoder) fromPath() error {
	t := &r.doc.t
	n, res := t.eval(0, r.path.pre, &r.doc.scratch)
	if res != evalOK {
		return ErrWrongType
	}
	if t.nodes[n].kind != kindArray {
		if r.path.wild {
			return ErrWrongType
		}
		r.add(n)
		return nil
	}
	e := n + 1
	for range min(int(t.nodes[n].n), r.maxRows) {
		if !r.path.wild {
			r.add(e)
		} else if v, res := t.eval(e, r.path.post, &r.doc.scratch); res == evalOK {
			r.add(v)
		} else if res == evalWrongType {
			r.addInvalid(ReasonWrongType)
		} else {
			r.preds = append(r.preds, Prediction{Kind: PredictionMissing, Reason: ReasonMissingFeature})
		}
		e = t.nodes[e].next
	}
	return nil
}

func (r *ResponseDecoder) full() bool { return len(r.preds) >= r.maxRows }

func (r *ResponseDecoder) addInvalid(reason Reason) {
	r.preds = append(r.preds, Prediction{Kind: PredictionInvalid, Reason: reason})
}

// add appends node n: a scalar, a one-element array (its element), or an
// array of numbers (class scores).
func (r *ResponseDecoder) add(n uint32) {
	t := &r.doc.t
	nd := &t.nodes[n]
	if nd.kind == kindArray && nd.n == 1 {
		n++
		nd = &t.nodes[n]
	}
	if nd.kind != kindArray {
		r.preds = append(r.preds, r.scalar(n))
		return
	}
	if nd.n == 0 || nd.next != n+1+nd.n {
		r.addInvalid(ReasonWrongType) // empty, or nested deeper than scores
		return
	}
	r.preds = append(r.preds, r.scores(nil, n+1, int(nd.n)))
}

func (r *ResponseDecoder) scalar(n uint32) Prediction {
	t := &r.doc.t
	nd := &t.nodes[n]
	switch nd.kind {
	case kindNull:
		return Prediction{Kind: PredictionMissing}
	case kindNumber:
		if nd.flags&flagNaNInf != 0 {
			return Prediction{Kind: PredictionInvalid, Reason: ReasonNaNInf}
		}
		f, ok := parseNumber(t.raw(n))
		if !ok {
			return Prediction{Kind: PredictionInvalid, Reason: ReasonNaNInf}
		}
		return Prediction{Kind: PredictionNumber, Num: f, Text: t.raw(n)}
	case kindTrue:
		return Prediction{Kind: PredictionBool, Num: 1, Text: t.raw(n)}
	case kindFalse:
		return Prediction{Kind: PredictionBool, Num: 0, Text: t.raw(n)}
	case kindString:
		return Prediction{Kind: PredictionLabel, Text: t.str(n, &r.doc.scratch)}
	}
	return Prediction{Kind: PredictionInvalid, Reason: ReasonWrongType}
}

// scores reduces class scores to the top class and its score. The scores
// are leaves[0:n], or the consecutive nodes base, base+1, ... when leaves
// is nil.
func (r *ResponseDecoder) scores(leaves []uint32, base uint32, n int) Prediction {
	t := &r.doc.t
	best, bestI := math.Inf(-1), -1
	for i := range n {
		e := base + uint32(i)
		if leaves != nil {
			e = leaves[i]
		}
		nd := &t.nodes[e]
		if nd.kind != kindNumber {
			return Prediction{Kind: PredictionInvalid, Reason: ReasonWrongType}
		}
		f, ok := parseNumber(t.raw(e))
		if nd.flags&flagNaNInf != 0 || !ok {
			return Prediction{Kind: PredictionInvalid, Reason: ReasonNaNInf}
		}
		if f > best {
			best, bestI = f, i
		}
	}
	return Prediction{Kind: PredictionScores, Num: best, Class: bestI}
}

// classText returns class i in decimal, in the decoder's scratch memory.
func (r *ResponseDecoder) classText(i int) []byte {
	sc := &r.doc.scratch
	start := len(*sc)
	*sc = strconv.AppendInt(*sc, int64(i), 10)
	return (*sc)[start:len(*sc):len(*sc)]
}

// Response is what a Codec sees of the response being decoded.
type Response struct{ r *ResponseDecoder }

// Root returns the response document.
func (p *Response) Root() Node { return p.r.doc.root() }

// Output returns the configured output name, or "" for the default.
func (p *Response) Output() string { return p.r.spec.Output }

// Add appends the prediction at node n: a scalar, a one-element array, or
// an array of class scores. It reports false once MaxRows predictions
// are held; later ones are dropped.
func (p *Response) Add(n Node) bool {
	if p.r.full() {
		return false
	}
	p.r.add(n.i)
	return true
}

// AddInvalid appends a prediction that could not be read.
func (p *Response) AddInvalid(reason Reason) bool {
	if p.r.full() {
		return false
	}
	p.r.addInvalid(reason)
	return true
}
