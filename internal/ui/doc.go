// Package ui serves driftcar's built-in web page: one HTML page, a
// stylesheet and a script, embedded in the binary, that poll the admin
// JSON API (/api/routes, /api/shadow/mismatches, /api/features,
// /api/drift, /api/config and /metrics) every 2 seconds and draw what
// they return: request rates and latencies per arm, shadow agreement and
// the latest mismatches, each feature's drift state, its main statistic
// against its threshold over time and its reference vs live histogram,
// the drift history, the canary guard and the config version.
//
// The page needs no build step and loads nothing from outside the admin
// server. It inserts every value it receives as text (never as HTML), and
// reads an optional admin token from the URL fragment (#token=...), which
// browsers never send to the server, and sends it as a bearer token to
// /api.
//
// Concurrency: Handler returns a stateless handler, safe for concurrent
// use; the assets are read-only.
package ui
