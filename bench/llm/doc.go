// Package llm is `driftcar-bench llm`: what driftcar adds to streamed LLM
// answers, next to the direct path and to nginx with proxy_buffering off,
// in one run.
//
// A run starts two stub OpenAI servers (bench/llmstub: live and a
// shadow), driftcar twice (one openai route for /v1/ to live; and the
// same with sampling and a shadow of 100%), and a one-worker nginx when it
// is installed (skipped with a note when not). At each concurrency level
// (1, 50 and 500 streams by default) every path in turn gets a closed
// loop: each stream posts a chat request with "stream": true and, when
// the answer ends, the next one. The client (Client, Load) times each
// content chunk event as it is read and records, in HDR histograms:
//
//   - time to first token (TTFT);
//   - each inter-token gap;
//   - each chunk's lag: its arrival after it was due on the stub's fixed
//     schedule. A proxy that buffers the whole answer hides in the gaps
//     (its chunks arrive together) but not in the lag.
//
// The report gives p50/p99 per path and level, each path's p99 minus
// direct's, and the targets: at 50 streams TTFT and chunk lag within 1 ms
// (p99) of direct and no worse than nginx.
//
// Run it:
//
//	go run ./cmd/driftcar-bench llm --short     # make bench: under a minute
//	go run ./cmd/driftcar-bench llm             # make bench-llm: 64 tokens at 20 ms
//	go run ./cmd/driftcar-bench llm --streams 50 --paths direct,driftcar,nginx
//
// Concurrency: Run and RunCLI may be called from any goroutine; a Report
// is a plain value.
package llm
