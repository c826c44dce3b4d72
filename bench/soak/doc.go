// Package soak is `driftcar-bench soak` (make soak): it runs the driftcar
// binary for a long time at a fixed rate with every feature on and every
// dependency misbehaving at once, and checks that it stays flat and loses
// nothing.
//
// One run starts, in this process, a healthy live model, a canary that
// throws error bursts (so the canary guard rolls it back, again and again,
// as each config change restores it), a flaky and slow shadow (errors,
// connection resets, answers past the shadow timeout, jittered latency,
// disagreeing predictions), a webhook target that fails every other call,
// and the bundled xDS control plane. It then runs driftcar as a child
// process in xDS mode and, for the whole duration:
//
//   - sends open-loop traffic at Options.Rate (bench/loadgen), each
//     request from a pool of generated KServe v1 bodies, with drift
//     injected in alternating periods;
//   - changes the config every Options.ChangeEvery, alternating a push
//     from the control plane (canary weight, shadow fraction) and a
//     rewrite of the base file followed by SIGHUP (guard and webhook
//     settings);
//   - samples driftcar's RSS and open file descriptors from /proc, and its
//     heap, goroutines and queue lengths from /metrics, every
//     Options.Interval.
//
// It then stops the traffic, lets the queues drain, reconciles every
// count (client, proxy, stubs, shadow, sampler, webhook, control plane)
// and judges the pass criteria: no client-visible error caused
// by driftcar, RSS and goroutines flat (under 5% growth between the second
// and the last quarter), no panic, every drop counted. Report.Markdown,
// Report.JSON and Report.PlotSVG write the results.
//
// Concurrency: Run owns every goroutine and process it starts and stops
// them all before it returns; a Report is plain data.
package soak
