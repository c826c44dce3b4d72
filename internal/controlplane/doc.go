// Package controlplane is the control plane behind
// "driftcar controlplane --listen :18000 --dir ./fleet": a go-control-plane
// ADS server (pkg/server/v3 over a snapshot cache in ADS mode, ordered)
// that serves each sidecar the config file for its node.
//
// # Files
//
// The directory holds one YAML file per node id or node cluster, named
// <id>.yaml or <cluster>.yaml (.yml also works; hidden files and other
// extensions are ignored), in the sidecar's config schema. A sidecar gets
// the file named after its node id, else the one named after its node
// cluster (by default its POD_NAMESPACE), else nothing until such a file
// appears.
//
// Each file is validated with config.Parse and translated (Translate)
// into:
//
//	Cluster per upstream        EDS with a ClusterLoadAssignment when the address is an IP,
//	                            STRICT_DNS with the endpoint inline when it is a host name;
//	                            connect_timeout, circuit_breakers max_connections (max_conns),
//	                            HttpProtocolOptions idle_timeout (HTTP/1.1)
//	Listener "driftcar"         the file's listen address, an HTTP connection manager with
//	                            RDS "driftcar" and the router filter
//	RouteConfiguration          virtual host "driftcar" (domains *), one route per file
//	"driftcar"                  route: prefix match, weighted_clusters in split order, sticky
//	                            as use_hash_policy with a header/cookie/query_parameter hash
//	                            policy, shadow as a request mirror policy whose fraction uses
//	                            the smallest exact denominator (else millionths)
//	TypedExtensionConfig        a TypedStruct (type_url xds.ConfigTypeURL) carrying the file
//	"driftcar"                  as written minus what the resources above carry and minus
//	                            listen and admin, which belong to each pod's own --config
//
// Every resource passes its generated ValidateAll and each snapshot is
// checked with Consistent before SetSnapshot. The snapshot version is a
// hash of the file's bytes, so the same file has the same version across
// restarts. Render prints the resources of a file as JSON for --render.
//
// The directory is watched with fsnotify (plus a rescan every 2s for lost
// events) or, where that fails or Options.PollInterval is set, polled;
// changes reach connected sidecars well within a second. A file whose new
// content is invalid is logged and counted, and the sidecars it serves
// keep its last valid snapshot; a removed file stops being served
// (sidecars keep their config until another file applies to them).
//
// NACKs from sidecars are logged with their error and counted.
//
// # Metrics
//
//	driftcar_controlplane_files                       files in the directory
//	driftcar_controlplane_file_valid{file}            1 valid, 0 invalid (last valid content served)
//	driftcar_controlplane_file_errors_total           invalid contents seen
//	driftcar_controlplane_snapshots_total             snapshots set
//	driftcar_controlplane_connected_nodes             sidecars with an open stream
//	driftcar_controlplane_nacks_total{type}           NACKs by cds|eds|lds|rds|ecds|other
//
// The admin listener serves /metrics, /healthz and /api/files.
//
// # Concurrency
//
// New binds the listeners and loads the directory; Serve runs until its
// context ends and must be called once. Files, Addr and AdminAddr are
// safe for concurrent use. Translate and Render are pure functions.
package controlplane
