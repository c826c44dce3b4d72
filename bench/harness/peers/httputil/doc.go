// Command httputil is the net/http/httputil peer of driftcar-bench proxy:
// Go's standard reverse proxy with a keep-alive pool as large as the other
// proxies'. The harness embeds main.go and builds it on its own.
//
// Concurrency: the handler is httputil.ReverseProxy, safe for concurrent
// use; the program keeps no other state.
package main
