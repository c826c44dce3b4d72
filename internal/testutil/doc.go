// Package testutil holds the helpers tests share: waiting for a condition
// with a deadline, loopback ports, files and the scipy oracle. Poll and
// FreePort are safe for concurrent use; the helpers that take a testing.TB
// fail it with Fatal, so call them from the test's own goroutine.
package testutil
