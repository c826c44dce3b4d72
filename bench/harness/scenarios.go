package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/driftcar/driftcar/bench/modelstub"
	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// Scenario names.
const (
	Direct             = "direct"
	Driftcar           = "driftcar"
	DriftcarSample     = "driftcar+sample"
	DriftcarShadow     = "driftcar+shadow"
	DriftcarAll        = "driftcar+all"
	DriftcarSlowShadow = "driftcar+slow-shadow"
	DriftcarLogFile    = "driftcar+log-file"
	DriftcarLogDeadCE  = "driftcar+log-dead-events"
	DriftcarLogDeadKfk = "driftcar+log-dead-kafka"
	DriftcarTruth      = "driftcar+ground-truth"
	Nginx              = "nginx"
	NginxMirror        = "nginx+mirror"
	NginxSlowMirror    = "nginx+slow-mirror"
	HTTPUtil           = "httputil"
)

// Scenario kinds.
const (
	KindDirect   = "direct"
	KindDriftcar = "driftcar"
	KindPeer     = "peer"
)

// ScenarioInfo describes one scenario.
type ScenarioInfo struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Description string `json:"description"`
}

// scenarios in the order each round runs them: every driftcar setup next
// to the peer it is compared with.
var scenarios = []ScenarioInfo{
	{Direct, KindDirect, "client → model, no proxy"},
	{Nginx, KindPeer, "nginx proxy_pass, keep-alive upstream, one worker"},
	{HTTPUtil, KindPeer, "Go net/http/httputil.ReverseProxy (bench/harness/peers/httputil)"},
	{Driftcar, KindDriftcar, "driftcar, one route, no taps"},
	{DriftcarSample, KindDriftcar, "driftcar, feature sampling of 100% (drift tests at their defaults)"},
	{NginxMirror, KindPeer, "nginx proxy_pass + mirror of every request to a shadow"},
	{DriftcarShadow, KindDriftcar, "driftcar, shadow of 100% with comparison"},
	{DriftcarAll, KindDriftcar, "driftcar, canary 10%, shadow 100%, sampling 100%, drift tests every 1s, canary guard"},
	{NginxSlowMirror, KindPeer, "nginx proxy_pass + mirror to a shadow answering in 200 ms"},
	{DriftcarSlowShadow, KindDriftcar, "driftcar, shadow of 100% to a shadow answering in 200 ms"},
	{DriftcarLogFile, KindDriftcar, "driftcar, prediction log of 100% (features and prediction decoded) to a JSON Lines file"},
	{DriftcarLogDeadCE, KindDriftcar, "driftcar, prediction log of 100% to a cloudevents sink that accepts connections and never answers"},
	{DriftcarLogDeadKfk, KindDriftcar, "driftcar, prediction log of 100% to a Kafka broker address that refuses connections"},
	{DriftcarTruth, KindDriftcar, "driftcar, ground truth on: every answer's prediction joined in a 1,000,000-entry table; no labels posted (a label's cost is off the request path)"},
}

// Scenarios returns every scenario in run order.
func Scenarios() []ScenarioInfo { return slices.Clone(scenarios) }

func scenarioInfo(name string) (ScenarioInfo, bool) {
	i := slices.IndexFunc(scenarios, func(s ScenarioInfo) bool { return s.Name == name })
	if i < 0 {
		return ScenarioInfo{}, false
	}
	return scenarios[i], true
}

// upstreamAddrs are the model stubs that scenarios send to, and the dead
// sinks of the logging scenarios: Silent accepts connections and never
// answers, Refused refuses them.
type upstreamAddrs struct {
	Live, Canary, Shadow, SlowShadow string
	Silent, Refused                  string
}

// driftcarConfig returns the YAML config of a driftcar scenario. reference
// is the profile file of the sampling scenarios, dir the scenario's own
// directory (for its log file).
func driftcarConfig(name, listen, admin string, up upstreamAddrs, p modelstub.Protocol, reference, dir string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %s\nadmin: %s\nmodel: bench\nupstreams:\n", listen, admin)
	fmt.Fprintf(&b, "  live: { address: %s, max_conns: 1024 }\n", up.Live)
	var shadow, sample, all, truth bool
	var sink string
	switch name {
	case Driftcar:
	case DriftcarLogFile:
		sink = fmt.Sprintf("{ name: file, type: file, path: %s }", yamlQuote(filepath.Join(dir, "predictions.jsonl")))
	case DriftcarLogDeadCE:
		sink = fmt.Sprintf("{ name: events, type: cloudevents, url: \"http://%s/\" }", up.Silent)
	case DriftcarLogDeadKfk:
		sink = fmt.Sprintf("{ name: kafka, type: kafka, brokers: [\"%s\"] }", up.Refused)
	case DriftcarTruth:
		truth = true
	case DriftcarSample:
		sample = true
	case DriftcarShadow:
		shadow = true
		fmt.Fprintf(&b, "  shadow: { address: %s, timeout: 2s, max_conns: 256 }\n", up.Shadow)
	case DriftcarSlowShadow:
		shadow = true
		fmt.Fprintf(&b, "  shadow: { address: %s, timeout: 2s, max_conns: 256 }\n", up.SlowShadow)
	case DriftcarAll:
		shadow, sample, all = true, true, true
		fmt.Fprintf(&b, "  canary: { address: %s, max_conns: 1024 }\n", up.Canary)
		fmt.Fprintf(&b, "  shadow: { address: %s, timeout: 2s, max_conns: 256 }\n", up.Shadow)
	default:
		return "", fmt.Errorf("%q is not a driftcar scenario", name)
	}
	fmt.Fprintf(&b, "routes:\n  - name: predict\n    protocol: %s\n", p.ConfigName())
	if all {
		b.WriteString("    split: [{ upstream: live, weight: 90 }, { upstream: canary, weight: 10 }]\n")
	} else {
		b.WriteString("    split: [{ upstream: live, weight: 1 }]\n")
	}
	if shadow {
		b.WriteString("    shadow: { upstream: shadow, fraction: 1 }\n")
	}
	if sample {
		b.WriteString("    sample: { fraction: 1 }\n")
	}
	if truth {
		b.WriteString("prediction: { type: numeric }\n")
		b.WriteString("ground_truth: { label: { type: binary, threshold: 0.5 }, ttl: 1h, max_entries: 1000000 }\n")
	}
	if sample || sink != "" {
		b.WriteString(`features:
  - { name: age, type: numeric }
  - { name: income, type: numeric }
  - { name: country, type: categorical }
  - { name: tenure, type: numeric }
prediction: { type: numeric }
`)
	}
	if sample {
		fmt.Fprintf(&b, "reference: { file: %s }\n", yamlQuote(reference))
	}
	if sink != "" {
		fmt.Fprintf(&b, "log:\n  sinks:\n    - %s\n", sink)
	}
	if all {
		// Drift tests every second over 10 s and 1 min windows, and the
		// canary guard judging the canary arm without rolling it back (the
		// canary is the same stub as live, so it should never breach).
		b.WriteString(`sketch: { slices: 60, slice_duration: 1s }
drift: { windows: [10s, 1m], evaluate_every: 1s, min_samples: 200 }
canary_guard: { rollback: false, min_requests: 500, window: 1m }
`)
	}
	return b.String(), nil
}

func yamlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// writeReference builds the reference profile of the sampling scenarios'
// features from 1,000 synthetic training rows around the request the load
// generator sends, and writes it to path.
func writeReference(path string, p modelstub.Protocol) error {
	yaml, err := driftcarConfig(DriftcarSample, "127.0.0.1:0", "127.0.0.1:0", upstreamAddrs{Live: "127.0.0.1:1"}, p, path, "")
	if err != nil {
		return err
	}
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		return fmt.Errorf("cannot parse the sampling config: %w", err)
	}
	specs, pred, err := cfg.PayloadSpecs()
	if err != nil {
		return err
	}
	var csv strings.Builder
	csv.WriteString("age,income,country,tenure,prediction\n")
	countries := []string{"DE", "FR", "US", "IT"}
	for i := range 1000 {
		fmt.Fprintf(&csv, "%d,%d.5,%s,%d,0.%02d\n", 20+i%50, 20000+i*61, countries[i%4], i%10, 50+i%50)
	}
	prof, err := sketch.BuildReference(strings.NewReader(csv.String()), sketch.CSV, specs, sketch.BuildOptions{Prediction: pred})
	if err != nil {
		return fmt.Errorf("cannot build the reference: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return prof.WriteFile(path)
}

// nginxConfig is bench/peers/nginx.conf for one listener: a plain proxy
// to live, with mirror a copy of every request (with body) to mirror too.
// Temp paths are under the prefix so nginx runs without root.
func nginxConfig(listen, live, mirror string) string {
	var b strings.Builder
	b.WriteString(`# Generated by driftcar-bench proxy from bench/peers/nginx.conf.
worker_processes 1;
daemon off;
pid nginx.pid;
error_log output.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path tmp/body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
`)
	fmt.Fprintf(&b, "  upstream live { server %s; keepalive 256; }\n", live)
	if mirror != "" {
		fmt.Fprintf(&b, "  upstream shadow { server %s; keepalive 256; }\n", mirror)
	}
	fmt.Fprintf(&b, "  server {\n    listen %s;\n    location / {\n", listen)
	if mirror != "" {
		b.WriteString("      mirror /mirror; mirror_request_body on;\n")
	}
	b.WriteString("      proxy_pass http://live; proxy_http_version 1.1; proxy_set_header Connection \"\";\n    }\n")
	if mirror != "" {
		b.WriteString("    location = /mirror { internal; proxy_pass http://shadow$request_uri; proxy_http_version 1.1; proxy_set_header Connection \"\"; }\n")
	}
	b.WriteString("  }\n}\n")
	return b.String()
}
