// Package testupstream starts real loopback model servers for tests.
// Everything here is safe for concurrent use.
package testupstream
