// Command stubmodel is a minimal fasthttp model server for load tests: it
// answers every request with a fixed KServe v1 or Open Inference v2
// prediction, optionally after a delay, failing a fraction of requests
// with 500 when asked. It is bench/modelstub as a program.
//
// Concurrency: the server is a modelstub.Server, safe for concurrent use;
// the program keeps no other state.
package main
