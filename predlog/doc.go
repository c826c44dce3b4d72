// Package predlog is driftcar's prediction log: one Record per request,
// fanned out to several sinks (JSON Lines files, CloudEvents over HTTP,
// Kafka), each behind its own bounded queue.
//
// Concurrency: all exported methods are safe for concurrent use unless
// a comment says otherwise. The request path calls only Log.Acquire and
// Log.Offer. Offer never blocks and allocates nothing in steady state: it
// takes a read lock, does a non-blocking channel send per sink and a few
// atomic adds. A sink that is slow, dead or refusing fills its own queue;
// further records are dropped and counted, never waited for.
//
// Ownership: a Record comes from Log.Acquire and belongs to the caller
// until Offer; from then on it belongs to the log, whether Offer reported
// it taken or not. It is forbidden to touch a record after Offer. The
// sinks share it read-only and the last one to finish returns it to the
// pool. A Sink must not keep a record, or memory it points to, after
// Write returns.
//
// Accounting: for every sink, each offered record ends exactly once as
// written (driftcar_log_records_total{result="written"}) or dropped
// (driftcar_log_dropped_total, by reason: queue_full, bytes_full,
// retries_exhausted, closed). A failed write attempt is also counted as
// failed; its records are retried with backoff, then dropped. Delivery is
// at least once: a retried batch may reach the store twice.
//
// Goroutines: each sink has QueueOptions.Workers goroutines, started by
// New and stopped by Close. Close stops taking records, drains the queues
// until its context ends, then drops what is left as closed and closes
// the sinks. The kafka sink adds a goroutine that pings the brokers while
// it is not ready.
package predlog
