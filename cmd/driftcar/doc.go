// Command driftcar is the driftcar sidecar: a reverse proxy for ML model
// servers with canary split, shadow comparison and drift detection.
package main
