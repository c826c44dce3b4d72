// Package xds is driftcar's xDS client: a state-of-the-world ADS client on
// one gRPC stream that turns Envoy's Listener, RouteConfiguration, Cluster,
// ClusterLoadAssignment and the "driftcar" TypedExtensionConfig into the
// same *config.Config a YAML file gives. Invalid resources are NACKed and
// the last good config keeps serving. The mapping, precedence and protocol
// details are in docs/xds.md.
//
// Concurrency: Run must be called once; it owns the protocol state and two
// stream goroutines, and returns after they exit when its context ends.
// Options.Apply is called on Run's goroutine (or SetBase's, under the same
// lock), never concurrently with itself and never on a request path; the
// *config.Config it gets is new for each call and immutable. Status,
// Synced and SetBase are safe for concurrent use. A panic while decoding
// or applying is recovered and NACKed.
package xds
