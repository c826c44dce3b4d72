// Package detector runs the detector on the sampler's live state: a Monitor
// evaluates every sampled feature on a ticker, off the request path, keeps
// the alarm states and their history, calls the retraining webhook when
// drift begins, and ticks the canary guard (package detector/guard).
//
// Concurrency: Tick runs on one goroutine at a time (Run's ticker, or a
// test calling it directly); it holds the Monitor's mutex while it
// evaluates. Collect, View, SetGuard, the webhook sender and
// Webhook.Reconfigure may run concurrently with it. A Webhook (and the
// guard's RollbackCounts) outlive Monitors and Guards: a config change replaces
// the guard (and the monitor only when what it tests changed) without
// losing queued notifications or resetting counters. A Webhook with
// conditions (When) holds drift alerts and evaluates them on its Run
// goroutine, calling the integrator's Signals there and never from Notify,
// which the Monitor calls under its lock. Nothing here is called from the
// request path.
package detector
