// Package testupstream starts real loopback model servers for tests;
// polling and free ports are in internal/testutil. Everything here is
// safe for concurrent use.
package testupstream
