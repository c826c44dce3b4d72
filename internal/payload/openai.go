package payload

import (
	"bytes"
	"math"
	"unicode/utf8"
)

// openAI is the OpenAI-compatible API that LLM servers (vLLM, TGI,
// llama.cpp, Ollama, KServe's Hugging Face runtime) serve:
// /v1/chat/completions, /v1/completions and /v1/embeddings, answered as
// JSON or, with "stream": true, as server-sent events of chunks.
//
// A request is one row (an embeddings request with an array input is one
// row per input). Features without a path are its top-level fields by
// name, plus two derived ones: prompt_chars (characters of the messages'
// text, the prompt or the input) and messages (their number). The
// prediction of a completion is its finish reason (categorical) or its
// completion tokens (numeric); of an embedding, its L2 norm.
type openAI struct{}

// Derived feature names of the openai protocol.
const (
	FeaturePromptChars = "prompt_chars"
	FeatureMessages    = "messages"
)

func (openAI) Rows(q *Request) error {
	root := q.Root()
	input, isEmbedding := root.Field("input")
	rows := 1
	if isEmbedding && input.Kind() == NodeArray && input.Len() > 0 && input.d.t.nodes[input.i+1].kind == kindString {
		rows = input.Len()
	}
	q.SetRows(rows)
	messages, hasMessages := root.Field("messages")
	for j := range q.Features() {
		if !q.ByLayout(j) {
			continue
		}
		switch key := q.Key(j); key {
		case FeaturePromptChars:
			for r := range q.Rows() {
				var chars int
				switch {
				case hasMessages:
					chars = messageChars(messages)
				case isEmbedding && rows > 1:
					el, _ := input.Index(r)
					chars = textChars(el)
				case isEmbedding:
					chars = textChars(input)
				default:
					prompt, _ := root.Field("prompt")
					chars = textChars(prompt)
				}
				q.SetNumber(r, j, float64(chars))
			}
		case FeatureMessages:
			n := 0
			if hasMessages && messages.Kind() == NodeArray {
				n = messages.Len()
			}
			for r := range q.Rows() {
				q.SetNumber(r, j, float64(n))
			}
		default:
			if v, ok := root.Field(key); ok {
				for r := range q.Rows() {
					q.Set(r, j, v)
				}
			}
		}
	}
	return nil
}

// textChars counts the characters of a string, or of an array of strings.
func textChars(n Node) int {
	switch n.Kind() {
	case NodeString:
		return utf8.RuneCount(n.Text())
	case NodeArray:
		total := 0
		for _, e := range n.Elems() {
			if e.Kind() == NodeString {
				total += utf8.RuneCount(e.Text())
			}
		}
		return total
	}
	return 0
}

// messageChars counts the text of chat messages, whose content is a
// string or an array of parts with a "text".
func messageChars(messages Node) int {
	total := 0
	for _, m := range messages.Elems() {
		c, ok := m.Field("content")
		if !ok {
			continue
		}
		if c.Kind() == NodeString {
			total += utf8.RuneCount(c.Text())
			continue
		}
		for _, part := range c.Elems() {
			if t, ok := part.Field("text"); ok && t.Kind() == NodeString {
				total += utf8.RuneCount(t.Text())
			}
		}
	}
	return total
}

// Predictions reads an answer that was not streamed: the first choice of
// a completion, or every embedding.
func (openAI) Predictions(p *Response) error {
	root := p.Root()
	st := &p.r.llm
	st.reset()
	st.readUsage(root)
	if data, ok := root.Field("data"); ok && data.Kind() == NodeArray {
		for _, e := range data.Elems() {
			emb, ok := e.Field("embedding")
			if !ok || emb.Kind() != NodeArray {
				p.AddInvalid(ReasonWrongType)
				continue
			}
			p.addNorm(emb)
		}
		return nil
	}
	choices, ok := root.Field("choices")
	if !ok || choices.Kind() != NodeArray || choices.Len() == 0 {
		return ErrWrongType
	}
	c, _ := choices.Index(0)
	if msg, ok := c.Field("message"); ok {
		if content, ok := msg.Field("content"); ok && content.Kind() == NodeString {
			st.content = append(st.content, content.Text()...)
		}
	} else if text, ok := c.Field("text"); ok && text.Kind() == NodeString {
		st.content = append(st.content, text.Text()...)
	}
	st.readFinish(c)
	p.r.preds = append(p.r.preds, st.prediction(utf8.RuneCount(st.content)))
	return nil
}

// addNorm appends the L2 norm of an embedding.
func (p *Response) addNorm(emb Node) {
	sum := 0.0
	for _, x := range emb.Elems() {
		if x.Kind() != NodeNumber {
			p.AddInvalid(ReasonWrongType)
			return
		}
		f, ok := parseNumber(x.Text())
		if !ok {
			p.AddInvalid(ReasonNaNInf)
			return
		}
		sum += f * f
	}
	p.r.preds = append(p.r.preds, Prediction{Kind: PredictionNumber, Num: math.Sqrt(sum)})
}

// llmState gathers a completion across the chunks of a stream.
type llmState struct {
	content []byte
	finish  []byte
	usage   int // completion tokens from usage, or -1
	prompt  int // prompt tokens from usage, or -1
	chunks  int // chunks that carried content
}

func (st *llmState) reset() {
	st.content, st.finish, st.usage, st.prompt, st.chunks = st.content[:0], nil, -1, -1, 0
}

func (st *llmState) readFinish(choice Node) {
	if f, ok := choice.Field("finish_reason"); ok && f.Kind() == NodeString {
		st.finish = f.Text()
	}
}

func (st *llmState) readUsage(root Node) {
	u, ok := root.Field("usage")
	if !ok {
		return
	}
	if n := tokens(u, "completion_tokens"); n >= 0 {
		st.usage = n
	}
	if n := tokens(u, "prompt_tokens"); n >= 0 {
		st.prompt = n
	}
}

// tokens reads a token count of usage u, or -1.
func tokens(u Node, name string) int {
	if n, ok := u.Field(name); ok && n.Kind() == NodeNumber {
		if f, ok := parseNumber(n.Text()); ok && f >= 0 && f <= math.MaxInt32 {
			return int(f)
		}
	}
	return -1
}

// prediction is the completion gathered, with tokens from usage or, when
// the server sent none, the fallback count.
func (st *llmState) prediction(fallback int) Prediction {
	p := Prediction{Kind: PredictionCompletion, Text: st.finish, Content: st.content, Num: float64(fallback)}
	if st.usage >= 0 {
		p.Num, p.TokensFromUsage = float64(st.usage), true
	}
	return p
}

// eventCodec is a codec whose answers may be server-sent events.
type eventCodec interface {
	// event reads the JSON data of one event into r.llm.
	event(r *ResponseDecoder) error
	// endEvents appends the predictions of a finished stream.
	endEvents(r *ResponseDecoder) error
}

func (openAI) event(r *ResponseDecoder) error {
	root := r.doc.root()
	st := &r.llm
	if choices, ok := root.Field("choices"); ok && choices.Len() > 0 {
		c, _ := choices.Index(0)
		var text Node
		var has bool
		if delta, ok := c.Field("delta"); ok {
			text, has = delta.Field("content")
		} else {
			text, has = c.Field("text")
		}
		if has && text.Kind() == NodeString && len(text.Text()) > 0 {
			st.content = append(st.content, text.Text()...)
			st.chunks++
		}
		st.readFinish(c)
	}
	st.readUsage(root)
	return nil
}

func (openAI) endEvents(r *ResponseDecoder) error {
	st := &r.llm
	if st.usage >= 0 && st.usage < st.chunks {
		return ErrUsageMismatch
	}
	r.preds = append(r.preds, st.prediction(st.chunks))
	return nil
}

// isEventStream reports whether body starts like server-sent events.
func isEventStream(body []byte) bool {
	body = bytes.TrimLeft(body, " \t\r\n")
	return bytes.HasPrefix(body, []byte("data:")) || bytes.HasPrefix(body, []byte("event:")) ||
		bytes.HasPrefix(body, []byte(":")) || bytes.HasPrefix(body, []byte("id:"))
}

var doneMarker = []byte("[DONE]")

// decodeEvents reads a stream of server-sent events: each data line is
// one JSON chunk, and "data: [DONE]" ends the stream.
func (r *ResponseDecoder) decodeEvents(ec eventCodec, body []byte) error {
	r.llm.reset()
	done := false
	for len(body) > 0 {
		var line []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			line, body = body, nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		field, value, ok := bytes.Cut(line, []byte(":"))
		switch {
		case len(line) == 0 || len(field) == 0: // event end, or a comment
			continue
		case !ok || done:
			return ErrMalformedStream
		case string(field) != "data":
			continue // event, id, retry
		}
		value = bytes.TrimPrefix(value, []byte(" "))
		if bytes.Equal(value, doneMarker) {
			done = true
			continue
		}
		if r.doc.t.parse(value) != parseOK || r.doc.t.nodes[0].kind != kindObject {
			return ErrMalformedStream
		}
		if err := ec.event(r); err != nil {
			return err
		}
	}
	if !done {
		return ErrMalformedStream
	}
	return ec.endEvents(r)
}
