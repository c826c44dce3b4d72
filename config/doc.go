// Package config parses, defaults and validates the driftcar YAML config.
//
// Parse decodes strictly: an unknown field, a duplicate key, a value of the
// wrong kind or type, or a second YAML document is an error. It then fills
// the defaults documented on each field and checks every rule, returning
// all problems at once as Errors, each located by a field path and line:
//
//	routes[0].split[1].weight: must be >= 0 (line 14)
//
// A field the input sets keeps its value even when it is zero, so
// "timeout: 0s" is an error rather than a request for the default.
//
// All functions are safe to call concurrently. A *Config returned by Parse
// or Load is immutable: callers must not modify it, and it may be shared
// across goroutines without locking, for example behind an atomic.Pointer
// that a reloader swaps. Its methods only read it. Default returns a new
// Config that the caller owns and may fill in before calling Validate.
package config
