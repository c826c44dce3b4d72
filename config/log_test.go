package config

import (
	"strings"
	"testing"
)

// TestLogRules: each rule of the log section names its field and line.
func TestLogRules(t *testing.T) {
	const head = "log:\n  sinks:\n" // lines 12 and 13 after validBase
	tests := []struct {
		name, log, want string
	}{
		{"no sinks", "log:\n  fraction: 0.5\n", `log.sinks: at least one sink is required (line 12)`},
		{"fraction out of range", "log:\n  fraction: 2\n  sinks: [{ name: f, type: file, path: /tmp/p.jsonl }]\n", `log.fraction: must be in 0..1, got 2 (line 13)`},
		{"unknown type", head + "    - { name: s, type: s3 }\n", `log.sinks[0].type: must be file, cloudevents or kafka, got "s3" (line 14)`},
		{"duplicate name", head + "    - { name: f, type: file, path: /a }\n    - { name: f, type: file, path: /b }\n", `log.sinks[1].name: duplicate sink name "f" (line 15)`},
		{"file without path", head + "    - { name: f, type: file }\n", `log.sinks[0].path: required for a file sink (line 14)`},
		{"bad URL", head + "    - { name: e, type: cloudevents, url: \"logger:80\" }\n", `log.sinks[0].url: must be an http:// or https:// URL with a host, got "logger:80" (line 14)`},
		{"unknown events", head + "    - { name: e, type: cloudevents, url: \"http://l/\", events: all }\n", `log.sinks[0].events: must be kserve, combined or both, got "all" (line 14)`},
		{"bad broker", head + "    - { name: k, type: kafka, brokers: [kafka-0] }\n", `log.sinks[0].brokers[0]: must be host:port, got "kafka-0" (line 14)`},
		{"bad compression", head + "    - { name: k, type: kafka, brokers: [\"k:9092\"], compression: brotli }\n", `log.sinks[0].compression: must be none, gzip, snappy, lz4 or zstd, got "brotli" (line 14)`},
		{"bad topic", head + "    - { name: k, type: kafka, brokers: [\"k:9092\"], topic: \"preds/{model}\" }\n", `log.sinks[0].topic: must be a Kafka topic name`},
		{"idempotent without acks all", head + "    - { name: k, type: kafka, brokers: [\"k:9092\"], acks: leader, idempotent: true }\n", `log.sinks[0].idempotent: needs acks: all (got acks: leader) (line 14)`},
		{"bad SASL", head + "    - { name: k, type: kafka, brokers: [\"k:9092\"], sasl: { mechanism: gssapi, username: u, password_env: P } }\n", `log.sinks[0].sasl.mechanism: must be plain, scram-sha-256 or scram-sha-512, got "gssapi" (line 14)`},
		{"bad redaction path", "log:\n  redact: { drop: [\"instances[\"] }\n  sinks: [{ name: f, type: file, path: /a }]\n", `log.redact.drop[0]:`},
		{"route log without log", "", `routes[0].log: needs a top-level log section with its sinks`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := validBase + tc.log
			if tc.name == "route log without log" {
				in = strings.Replace(validBase, "  - name: predict\n", "  - name: predict\n    log: { fraction: 0.5 }\n", 1)
			}
			_, err := Parse([]byte(in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestLogDefaults(t *testing.T) {
	c, err := Parse([]byte(validBase + "log:\n  sinks:\n    - { name: local, type: file, path: /var/log/p.jsonl }\n    - { name: kserve, type: cloudevents, url: \"http://logger.default.svc/\" }\n    - { name: fleet, type: kafka, brokers: [\"kafka-0:9092\"] }\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Log
	if *l.Fraction != 1 || !*l.Errors || !*l.Mismatches || l.Bodies || l.MaxBody != 64<<10 {
		t.Errorf("log defaults: got %+v", l)
	}
	f, e, k := l.Sinks[0], l.Sinks[1], l.Sinks[2]
	if f.MaxSize != 100<<20 || !*f.Compress || f.MaxTotal != 1<<30 || f.MaxBackups != 10 || f.Queue != 10000 || f.Batch != 256 || *f.Retries != 5 {
		t.Errorf("file sink defaults: got %+v", f)
	}
	if e.Events != "both" || e.Component != "predictor" {
		t.Errorf("cloudevents sink defaults: got %+v", e)
	}
	if k.Topic != "driftcar.predictions.{model}" || k.Compression != "snappy" || k.Acks != "all" || !*k.Idempotent {
		t.Errorf("kafka sink defaults: got %+v", k)
	}
}
