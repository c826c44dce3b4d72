package config

import (
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/driftcar/driftcar/internal/payload"
)

// Log is the prediction log: one record per logged request, to every sink.
type Log struct {
	// Fraction of requests logged, 0..1, by a hash of x-request-id.
	// Default 1. A route's log.fraction overrides it.
	Fraction *float64 `yaml:"fraction" json:"fraction"`
	// Errors logs every failed request (5xx, or a failed upstream call)
	// whatever the fraction. Default true.
	Errors *bool `yaml:"errors" json:"errors"`
	// Mismatches logs every mirrored request whose shadow disagreed or
	// failed, whatever the fraction. Default true.
	Mismatches *bool `yaml:"mismatches" json:"mismatches"`
	// Bodies adds the request and response bodies, each cut to MaxBody,
	// after redaction. Default false.
	Bodies bool `yaml:"bodies" json:"bodies"`
	// MaxBody cuts each logged body, and bounds the copy decoded for
	// features and predictions. Default 64KiB.
	MaxBody ByteSize `yaml:"max_body" json:"max_body"`
	// Redact drops or hashes fields of the logged bodies.
	Redact Redact `yaml:"redact" json:"redact"`
	// Headers are the request headers logged. Default: none.
	Headers []string `yaml:"headers" json:"headers"`
	// Queue bounds the requests waiting to be decoded into records; when
	// full they are dropped and counted. Default 4096.
	Queue int `yaml:"queue" json:"queue"`
	// Sinks receive every record, each through its own queue. At least one.
	Sinks []LogSink `yaml:"sinks" json:"sinks"`
}

// Redact lists body fields, by JSON path (the prediction.path dialect),
// to drop or to replace with the hex SHA-256 of their JSON text.
type Redact struct {
	Drop []string `yaml:"drop" json:"drop"`
	Hash []string `yaml:"hash" json:"hash"`
}

// RouteLog overrides the log settings of one route.
type RouteLog struct {
	// Fraction of the route's requests logged. Default: log.fraction.
	Fraction *float64 `yaml:"fraction" json:"fraction"`
}

// Sink types.
const (
	SinkFile        = "file"
	SinkCloudEvents = "cloudevents"
	SinkKafka       = "kafka"
)

// LogSink is one destination of the prediction log.
type LogSink struct {
	// Name labels the sink in metrics. Required, unique.
	Name string `yaml:"name" json:"name"`
	// Type is file, cloudevents or kafka. Required.
	Type string `yaml:"type" json:"type"`
	// Queue and QueueBytes bound the records waiting for this sink; when
	// full, records are dropped and counted. Defaults 10000 and 64MiB.
	Queue      int      `yaml:"queue" json:"queue"`
	QueueBytes ByteSize `yaml:"queue_bytes" json:"queue_bytes"`
	// Batch is the most records written at once. Default 256.
	Batch int `yaml:"batch" json:"batch"`
	// Retries of a failed batch, with exponential backoff, before its
	// records are dropped and counted. Default 5.
	Retries *int `yaml:"retries" json:"retries"`
	// Timeout bounds one write of a batch (one event, for cloudevents).
	// Default 10s.
	Timeout Duration `yaml:"timeout" json:"timeout"`

	// File: JSON Lines at Path, rotated at MaxSize or MaxAge, keeping
	// at most MaxBackups rotated files (gzip-compressed unless Compress
	// is false) of at most MaxTotal bytes together. Defaults 100MiB,
	// 168h, 10, true, 1GiB.
	Path       string   `yaml:"path,omitempty" json:"path,omitempty"`
	MaxSize    ByteSize `yaml:"max_size,omitempty" json:"max_size,omitempty"`
	MaxAge     Duration `yaml:"max_age,omitempty" json:"max_age,omitempty"`
	MaxBackups int      `yaml:"max_backups,omitempty" json:"max_backups,omitempty"`
	Compress   *bool    `yaml:"compress,omitempty" json:"compress,omitempty"`
	MaxTotal   ByteSize `yaml:"max_total,omitempty" json:"max_total,omitempty"`

	// CloudEvents: HTTP binary-mode events to URL. Events is kserve (the
	// request and response events of KServe's logger), combined (one
	// dev.driftcar.prediction event with the record) or both (default).
	// Source is ce-source (default: the model's name); InferenceService,
	// Namespace and Component fill KServe's extensions (defaults: the
	// model, $POD_NAMESPACE, "predictor").
	URL              string `yaml:"url,omitempty" json:"url,omitempty"`
	Events           string `yaml:"events,omitempty" json:"events,omitempty"`
	Source           string `yaml:"source,omitempty" json:"source,omitempty"`
	InferenceService string `yaml:"inference_service,omitempty" json:"inference_service,omitempty"`
	Namespace        string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	Component        string `yaml:"component,omitempty" json:"component,omitempty"`

	// Kafka: a producer to Brokers. Topic may hold {model} and {route}
	// (default "driftcar.predictions.{model}"); the key is the request
	// id. Compression is none, gzip, snappy, lz4 or zstd (default
	// snappy); Acks is all (default), leader or none; Idempotent defaults
	// to true (it needs acks: all).
	Brokers     []string   `yaml:"brokers,omitempty" json:"brokers,omitempty"`
	Topic       string     `yaml:"topic,omitempty" json:"topic,omitempty"`
	Compression string     `yaml:"compression,omitempty" json:"compression,omitempty"`
	Acks        string     `yaml:"acks,omitempty" json:"acks,omitempty"`
	Idempotent  *bool      `yaml:"idempotent,omitempty" json:"idempotent,omitempty"`
	TLS         *KafkaTLS  `yaml:"tls,omitempty" json:"tls,omitempty"`
	SASL        *KafkaSASL `yaml:"sasl,omitempty" json:"sasl,omitempty"`
}

// KafkaTLS is the TLS of a Kafka sink; an empty one uses the system roots.
type KafkaTLS struct {
	CAFile     string `yaml:"ca_file" json:"ca_file"`
	CertFile   string `yaml:"cert_file" json:"cert_file"`
	KeyFile    string `yaml:"key_file" json:"key_file"`
	ServerName string `yaml:"server_name" json:"server_name"`
}

// KafkaSASL authenticates a Kafka sink: mechanism plain, scram-sha-256 or
// scram-sha-512, the password read from the environment variable
// PasswordEnv at startup.
type KafkaSASL struct {
	Mechanism   string `yaml:"mechanism" json:"mechanism"`
	Username    string `yaml:"username" json:"username"`
	PasswordEnv string `yaml:"password_env" json:"password_env"`
}

const (
	defaultLogMaxBody     = 64 << 10
	defaultLogQueue       = 4096
	defaultSinkQueue      = 10000
	defaultSinkQueueBytes = 64 << 20
	defaultSinkBatch      = 256
	defaultSinkRetries    = 5
	defaultFileMaxSize    = 100 << 20
	defaultFileMaxAge     = 7 * 24 * time.Hour
	defaultFileMaxBackups = 10
	defaultFileMaxTotal   = 1 << 30
	defaultSinkTimeout    = 10 * time.Second
	defaultKafkaTopic     = "driftcar.predictions.{model}"
)

var kafkaTopicRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

func logDefaults(l *Log, p *fieldPath, unset func(*fieldPath, bool) bool) {
	if l.Fraction == nil {
		l.Fraction = ptr(1.0)
	}
	if l.Errors == nil {
		l.Errors = ptr(true)
	}
	if l.Mismatches == nil {
		l.Mismatches = ptr(true)
	}
	if unset(p.key("max_body"), l.MaxBody == 0) {
		l.MaxBody = defaultLogMaxBody
	}
	if unset(p.key("queue"), l.Queue == 0) {
		l.Queue = defaultLogQueue
	}
	for i := range l.Sinks {
		s, q := &l.Sinks[i], p.key("sinks").index(i)
		if unset(q.key("queue"), s.Queue == 0) {
			s.Queue = defaultSinkQueue
		}
		if unset(q.key("queue_bytes"), s.QueueBytes == 0) {
			s.QueueBytes = defaultSinkQueueBytes
		}
		if unset(q.key("batch"), s.Batch == 0) {
			s.Batch = defaultSinkBatch
		}
		if s.Retries == nil {
			s.Retries = ptr(defaultSinkRetries)
		}
		if unset(q.key("timeout"), s.Timeout == 0) {
			s.Timeout = Duration(defaultSinkTimeout)
		}
		switch s.Type {
		case SinkFile:
			if unset(q.key("max_size"), s.MaxSize == 0) {
				s.MaxSize = defaultFileMaxSize
			}
			if unset(q.key("max_age"), s.MaxAge == 0) {
				s.MaxAge = Duration(defaultFileMaxAge)
			}
			if unset(q.key("max_backups"), s.MaxBackups == 0) {
				s.MaxBackups = defaultFileMaxBackups
			}
			if s.Compress == nil {
				s.Compress = ptr(true)
			}
			if unset(q.key("max_total"), s.MaxTotal == 0) {
				s.MaxTotal = defaultFileMaxTotal
			}
		case SinkCloudEvents:
			if s.Events == "" {
				s.Events = "both"
			}
			if s.Component == "" {
				s.Component = "predictor"
			}
		case SinkKafka:
			if s.Topic == "" {
				s.Topic = defaultKafkaTopic
			}
			if s.Compression == "" {
				s.Compression = "snappy"
			}
			if s.Acks == "" {
				s.Acks = "all"
			}
			if s.Idempotent == nil {
				s.Idempotent = ptr(s.Acks == "all")
			}
		}
	}
}

func (v *validator) log(p *fieldPath, l *Log) {
	if f := *l.Fraction; !(f >= 0 && f <= 1) {
		v.add(p.key("fraction"), "must be in 0..1, got %v", f)
	}
	if l.MaxBody <= 0 || l.MaxBody > 16<<20 {
		v.add(p.key("max_body"), "must be in 1B..16MiB, got %s", l.MaxBody)
	}
	if l.Queue < 1 {
		v.add(p.key("queue"), "must be >= 1, got %d", l.Queue)
	}
	for kind, paths := range map[string][]string{"drop": l.Redact.Drop, "hash": l.Redact.Hash} {
		for i, path := range paths {
			if err := payload.ParsePath(path); err != nil {
				v.add(p.key("redact").key(kind).index(i), "%v", err)
			}
		}
	}
	for i, h := range l.Headers {
		if h == "" || strings.ContainsAny(h, " :\t\r\n") {
			v.add(p.key("headers").index(i), "must be a header name, got %q", h)
		}
	}
	if len(l.Sinks) == 0 {
		v.add(p.key("sinks"), "at least one sink is required")
	}
	names := map[string]bool{}
	for i := range l.Sinks {
		s, q := &l.Sinks[i], p.key("sinks").index(i)
		switch {
		case !nameRE.MatchString(s.Name):
			v.add(q.key("name"), "must match %s, got %q", nameRE, s.Name)
		case names[s.Name]:
			v.add(q.key("name"), "duplicate sink name %q", s.Name)
		}
		names[s.Name] = true
		if s.Queue < 1 {
			v.add(q.key("queue"), "must be >= 1, got %d", s.Queue)
		}
		if s.QueueBytes < 1024 {
			v.add(q.key("queue_bytes"), "must be >= 1KiB, got %s", s.QueueBytes)
		}
		if s.Batch < 1 || s.Batch > s.Queue {
			v.add(q.key("batch"), "must be in 1..queue (%d), got %d", s.Queue, s.Batch)
		}
		if *s.Retries < 0 {
			v.add(q.key("retries"), "must be >= 0, got %d", *s.Retries)
		}
		if s.Timeout <= 0 {
			v.add(q.key("timeout"), "must be > 0, got %s", s.Timeout)
		}
		switch s.Type {
		case SinkFile:
			v.fileSink(q, s)
		case SinkCloudEvents:
			v.eventsSink(q, s)
		case SinkKafka:
			v.kafkaSink(q, s)
		default:
			v.add(q.key("type"), "must be file, cloudevents or kafka, got %q", s.Type)
		}
	}
}

func (v *validator) fileSink(q *fieldPath, s *LogSink) {
	if s.Path == "" {
		v.add(q.key("path"), "required for a file sink")
	}
	if s.MaxSize < 1<<20 {
		v.add(q.key("max_size"), "must be >= 1MiB (the rotation library counts megabytes), got %s", s.MaxSize)
	}
	if s.MaxAge < 0 {
		v.add(q.key("max_age"), "must be >= 0, got %s", s.MaxAge)
	}
	if s.MaxBackups < 0 {
		v.add(q.key("max_backups"), "must be >= 0, got %d", s.MaxBackups)
	}
	if s.MaxTotal < s.MaxSize {
		v.add(q.key("max_total"), "must be >= max_size (%s), got %s", s.MaxSize, s.MaxTotal)
	}
}

func (v *validator) eventsSink(q *fieldPath, s *LogSink) {
	u, err := url.Parse(s.URL)
	switch {
	case s.URL == "":
		v.add(q.key("url"), "required for a cloudevents sink")
	case err != nil:
		v.add(q.key("url"), "%v", err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		v.add(q.key("url"), "must be an http:// or https:// URL with a host, got %q", s.URL)
	}
	if s.Events != "kserve" && s.Events != "combined" && s.Events != "both" {
		v.add(q.key("events"), "must be kserve, combined or both, got %q", s.Events)
	}
}

func (v *validator) kafkaSink(q *fieldPath, s *LogSink) {
	v.kafkaBrokers(q.key("brokers"), s.Brokers, "a kafka sink")
	topic := strings.NewReplacer("{model}", "m", "{route}", "r").Replace(s.Topic)
	if strings.ContainsAny(topic, "{}") || !kafkaTopicRE.MatchString(topic) {
		v.add(q.key("topic"), "must be a Kafka topic name ([a-zA-Z0-9._-], at most 249) with optional {model} and {route}, got %q", s.Topic)
	}
	switch s.Compression {
	case "none", "gzip", "snappy", "lz4", "zstd":
	default:
		v.add(q.key("compression"), "must be none, gzip, snappy, lz4 or zstd, got %q", s.Compression)
	}
	switch s.Acks {
	case "all", "leader", "none":
	default:
		v.add(q.key("acks"), "must be all, leader or none, got %q", s.Acks)
	}
	if *s.Idempotent && s.Acks != "all" {
		v.add(q.key("idempotent"), "needs acks: all (got acks: %s)", s.Acks)
	}
	v.kafkaSecurity(q, s.TLS, s.SASL)
}

// kafkaBrokers checks the brokers of a Kafka client, used by what.
func (v *validator) kafkaBrokers(p *fieldPath, brokers []string, what string) {
	if len(brokers) == 0 {
		v.add(p, "at least one broker is required for %s", what)
	}
	for i, b := range brokers {
		host, port, err := net.SplitHostPort(b)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			v.add(p.index(i), "must be host:port, got %q", b)
		}
	}
}

// kafkaSecurity checks the tls and sasl blocks under q of a Kafka client.
func (v *validator) kafkaSecurity(q *fieldPath, t *KafkaTLS, a *KafkaSASL) {
	if a != nil {
		switch a.Mechanism {
		case "plain", "scram-sha-256", "scram-sha-512":
		default:
			v.add(q.key("sasl").key("mechanism"), "must be plain, scram-sha-256 or scram-sha-512, got %q", a.Mechanism)
		}
		if a.Username == "" {
			v.add(q.key("sasl").key("username"), "required")
		}
		if !envNameRE.MatchString(a.PasswordEnv) {
			v.add(q.key("sasl").key("password_env"), "must be an environment variable name, got %q", a.PasswordEnv)
		}
	}
	if t != nil && (t.CertFile == "") != (t.KeyFile == "") {
		v.add(q.key("tls"), "cert_file and key_file go together")
	}
}
