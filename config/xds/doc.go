// Package xds is driftcar's xDS client: a state-of-the-world ADS client
// (envoy.service.discovery.v3.AggregatedDiscoveryService, one gRPC
// stream) that turns Envoy's own resources into the same *config.Config a
// YAML file gives, so that one control plane can drive Envoy and driftcar.
//
// # Subscriptions
//
//	type                     names                                 state on a response
//	Cluster (cds)            wildcard                              full state: replaces all
//	ClusterLoadAssignment    the EDS names of the EDS clusters     upsert; dropped when no cluster names it
//	Listener (lds)           wildcard                              full state: replaces all
//	RouteConfiguration (rds) the names the listeners' HCMs give,   upsert; dropped when no listener names it
//	                         or wildcard while no listener names   (wildcard: replaces all)
//	                         one
//	TypedExtensionConfig     Options.ExtensionName ("driftcar")    upsert
//
// As the protocol says, a response that leaves out an RDS, EDS or ECDS
// name does not delete it: RouteConfigurations and ClusterLoadAssignments
// go when no parent names them, and the driftcar extension stays until a
// new one replaces it (send an empty document to drop its settings).
//
// # Mapping
//
//	Envoy                                              driftcar config
//	Listener                                           only its HCM's rds.route_config_name is used; the address
//	                                                   is ignored (listen is bound before xDS connects). An HCM
//	                                                   with an inline route_config or scoped_routes is a NACK.
//	RouteConfiguration virtual_hosts[*].routes[*]      routes, in order; domains are ignored (driftcar does not
//	                                                   match hosts); several route configurations are joined
//	                                                   in listener order
//	route.name                                         routes[].name (default "<virtual host>-<index>"); it must
//	                                                   be a valid driftcar route name, and it selects the route
//	                                                   template (below)
//	match.prefix                                       routes[].match.path_prefix ("" means "/"); any other path
//	                                                   specifier, headers, query_parameters, runtime_fraction,
//	                                                   grpc, tls_context, dynamic_metadata, filter_state: NACK
//	route.cluster                                      one arm, weight 1
//	route.weighted_clusters.clusters[]                 routes[].split, one arm per cluster, named by the cluster,
//	                                                   in order: the FIRST weighted cluster is the baseline (live)
//	                                                   arm: the default fallback, the readiness probe's target and
//	                                                   the reference of the canary guard's comparison. Weights
//	                                                   summing to 0: NACK. cluster_header: NACK.
//	weighted_clusters.use_hash_policy + hash_policy    routes[].sticky from the first header, cookie or
//	                                                   query_parameter policy (others are skipped; none usable
//	                                                   is a NACK); without use_hash_policy, hash_policy is
//	                                                   ignored (it only picks endpoints in Envoy)
//	weighted_clusters.header_name                      routes[].sticky.header
//	route.request_mirror_policies[0]                   routes[].shadow.upstream (cluster) and fraction
//	                                                   (runtime_fraction.default_value numerator/denominator;
//	                                                   none means 1). More than one policy, cluster_header, or
//	                                                   a numerator above the denominator: NACK. runtime_key,
//	                                                   trace_sampled, host rewrites, header mutations and
//	                                                   disable_shadow_host_suffix_append are ignored.
//	other route actions (redirect, direct_response...) NACK
//	other RouteAction fields (timeout, retry_policy,   ignored
//	prefix_rewrite, ...)
//	Cluster                                            upstreams[<cluster name>]; type EDS (addresses from the
//	                                                   ClusterLoadAssignment named eds_cluster_config.service_name
//	                                                   or the cluster name), or STATIC/STRICT_DNS/LOGICAL_DNS
//	                                                   (addresses from the inline load_assignment); any other
//	                                                   type, a custom cluster_type, or a transport_socket (TLS):
//	                                                   NACK. lb_policy, health checks and outlier detection are
//	                                                   ignored.
//	cluster.connect_timeout                            upstreams[].connect_timeout
//	circuit_breakers.thresholds[DEFAULT].max_connections  upstreams[].max_conns
//	typed_extension_protocol_options[envoy.extensions.upstreams.http.v3.HttpProtocolOptions]
//	  .common_http_protocol_options.idle_timeout       upstreams[].idle_timeout
//	ClusterLoadAssignment endpoints                    upstreams[].addresses: every usable endpoint, HEALTHY or
//	                                                   UNKNOWN before DEGRADED (UNHEALTHY, DRAINING and TIMEOUT
//	                                                   are skipped), then by locality priority, then in order;
//	                                                   address is the first. Requests go to the least loaded
//	                                                   endpoint; load-balancing weights are ignored. A cluster
//	                                                   without a usable endpoint is left out, so its arms
//	                                                   answer 503.
//	                                                   Only socket_address with port_value is supported.
//	TypedExtensionConfig "driftcar"                    typed_config is an xds.type.v3.TypedStruct (or the legacy
//	                                                   udpa.type.v1 one) with type_url ConfigTypeURL; its value,
//	                                                   a google.protobuf.Struct, is a document in the schema of
//	                                                   the YAML file: features, prediction, reference, sketch,
//	                                                   drift, canary_guard, shadow_samples, ..., plus route and
//	                                                   upstream templates (below). Unknown fields and invalid
//	                                                   values are NACKed with config.Parse's messages.
//
// # Precedence and templates
//
// Each config is built as one document and parsed with config.Parse, so
// every default, rule and message of the file format applies:
//
//  1. Options.Base, the sidecar's --config file (often only listen, admin
//     and model);
//  2. the ECDS document, merged over it as a JSON merge patch (RFC 7396):
//     mappings merge key by key, null deletes a key, and lists, such as
//     routes, replace the base's;
//  3. xDS routing: once a Cluster response has been accepted, upstreams
//     are exactly the clusters (the base's and ECDS's upstreams entries of
//     the same name are templates for the settings Envoy does not carry,
//     such as timeout; their address is ignored). Once a
//     RouteConfiguration is in use, routes are exactly its routes; the
//     entry of the merged document's routes with the same name is a
//     template for what RDS does not carry: protocol, sample, fallback,
//     arm_override and the shadow settings other than upstream and
//     fraction (compare, queue, methods, ...). A template's shadow is
//     dropped when the route has no mirror policy.
//
// Before any Cluster response, upstreams come from the documents and are
// checked strictly. After one, an arm naming a cluster not (yet) known
// is not an error: the config is applied without that upstream and the
// proxy answers 503 no_upstream for the arm until the cluster arrives;
// a shadow whose cluster is not known is dropped (nothing is mirrored).
// Status().Notes lists such gaps. A state without any route is never
// applied: the current config keeps serving.
//
// listen, admin, model, max_request_body and shadow_samples come from
// the merged document like everything else; the sidecar rejects changes
// to them without a restart, which NACKs the update.
//
// # Protocol
//
//   - Every response of a subscribed type is ACKed (version_info and
//     response_nonce of the response, after Apply succeeded) or NACKed
//     (response_nonce of the response, version_info of the last ACKed
//     response of the type, error_detail INVALID_ARGUMENT naming each bad
//     resource). A response of a type not subscribed on the stream gets
//     neither.
//   - Acceptance is all-or-nothing per response: one bad resource rejects
//     the response, and the type keeps its previous state. Resources of
//     other types are judged on their own: a version whose route is bad
//     may still have its clusters accepted.
//   - A response is also NACKed when the config built with it fails
//     config.Parse or Options.Apply; the previous config keeps serving.
//   - A repeated NACK of the same version_info of a type waits
//     Options.NackDelay (100ms doubling, at most 5s); the first NACK of a
//     version and every ACK are sent at once, and an ACK resets the delay.
//     While a NACK waits, the server holds no watch for that type, so a
//     fix arrives after the delayed NACK is sent.
//   - Versions are opaque and compared only for equality; a restarted
//     control plane may send a lower one.
//   - On every new stream, the node is sent on the first request only,
//     and each type is re-subscribed with its last ACKed version, its
//     names and no nonce. Streams are retried with Options.Backoff
//     (1s·1.6^n, ±20% jitter, at most 30s), reset after a stream that
//     received a response. The config keeps serving while disconnected.
//   - Duplicate resource names, and an Any whose type_url differs from
//     the response's, are NACKs. Resources of a name not subscribed are
//     ignored.
//   - A requested name that no response has carried after
//     Options.ResourceTimeout (15s) counts as not existing (Status shows
//     it as missing; "*" for a wildcard type never answered). Timers run
//     only while a stream is up. A later arrival clears it.
//   - The first config is applied only once every subscription has been
//     answered or has timed out, so that it is complete; after that,
//     every accepted change applies at once. A config equal to the one
//     applied is not applied again.
//
// go-control-plane's snapshot cache in ADS mode answers a request that
// names resources only if the names cover every resource of that type
// in the snapshot. A control plane that puts other TypedExtensionConfigs
// in a driftcar node's snapshot therefore never answers its ECDS request
// (the timer then declares driftcar missing).
//
// # Metrics
//
//	driftcar_xds_connected                            1 while a stream is up and answered
//	driftcar_xds_updates_total{type,result}            type: cds|eds|lds|rds|ecds; result: ack|nack
//	driftcar_xds_last_ack_timestamp_seconds{type}      unix time of the last ACK
//
// Update.Version and Status().Version carry the version_info that
// produced the applied config, for driftcar_config_info{source="xds"}.
//
// # Concurrency
//
// New returns a Client whose Run must be called once; it owns all
// protocol state on the calling goroutine and two stream goroutines (a
// reader and a single writer), and returns when its context ends, after
// they exit. Options.Apply is called on Run's goroutine, one call at a
// time, never concurrently with itself, and never on a request path: the
// hot path only sees the result through the caller's atomic swap. The
// *config.Config handed to Apply is new for each call and must be
// treated as immutable. Status, Synced and SetBase are safe for
// concurrent use; SetBase calls Apply on its caller's goroutine, under the
// same lock as the loop, so Apply is still never concurrent with itself.
// A panic while decoding or applying is recovered and NACKed.
package xds
