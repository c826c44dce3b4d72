// Package llmstub is a stub OpenAI-compatible LLM server for benchmarks
// and tests. POST /v1/chat/completions (and /v1/completions) with
// "stream": true answers text/event-stream: Tokens chat.completion.chunk
// events, one every Interval on a fixed schedule from the request's
// arrival (token i at (i+1)·Interval, so the first token comes after one
// interval, as after a prefill), each flushed at once; then a chunk with
// finish_reason, a usage chunk when stream_options.include_usage is set,
// and data: [DONE]. With "stream": false it answers one chat.completion
// JSON after the same total time. max_tokens below Tokens cuts the answer
// with finish_reason "length".
//
// Concurrency: a Server is safe for concurrent use; Close may be called
// once, from any goroutine.
package llmstub
