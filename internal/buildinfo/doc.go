// Package buildinfo reports the binary's version. It is read-only and safe
// for concurrent use.
package buildinfo
