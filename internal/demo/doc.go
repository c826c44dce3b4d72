// Package demo implements `driftcar demo`: three built-in model servers,
// a reference built from their training data, driftcar in-process with a
// generated config, steady traffic with drift injected at a set time, and
// a live terminal view of what driftcar sees. Half the requests get their
// true outcome a few seconds later through driftcar's feedback API, so
// the view also shows each arm's accuracy, its performance state and the
// challengers' verdicts. It is also an integration
// test of the whole product. With Options.GRPC (`driftcar demo --grpc`)
// the models also serve the Open Inference Protocol's ModelInfer over
// gRPC and the traffic goes through driftcar's gRPC listener. Run owns
// every goroutine it starts.
package demo
