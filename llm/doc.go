// Package llm counts the tokens and finish reasons of the answers of
// OpenAI-compatible routes, per route and arm: driftcar_llm_tokens_total
// and driftcar_llm_finish_total. The proxy times the streams itself.
//
// Concurrency: Counter.Sample runs on the request path, copies the answer
// and hands it to a bounded queue without blocking; one worker per
// Counter decodes it. Counter.Stats reads the same counts at any time.
// Metrics are safe for concurrent use.
package llm
