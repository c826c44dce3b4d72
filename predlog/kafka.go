package predlog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/driftcar/driftcar/internal/kafkaauth"
)

// DefaultTopic is the kafka sink's topic template: one topic per model.
const DefaultTopic = "driftcar.predictions.{model}"

// KafkaTLS enables TLS to the brokers.
type KafkaTLS = kafkaauth.TLS

// KafkaSASL authenticates to the brokers.
type KafkaSASL = kafkaauth.SASL

// KafkaOptions configure a kafka sink: a franz-go producer.
type KafkaOptions struct {
	// Brokers are the seed brokers, host:port each.
	Brokers []string
	// Topic is a template; {model} and {route} are replaced by the
	// record's, with characters Kafka refuses mapped to '_' (default
	// DefaultTopic).
	Topic string
	// Compression is none, gzip, snappy, lz4 or zstd (default none).
	Compression string
	// Acks is all (default), leader or none.
	Acks string
	// Idempotent turns idempotent writes on or off; nil means on with
	// acks all and off otherwise. It needs acks all.
	Idempotent *bool
	// AutoCreateTopics asks the brokers to create missing topics.
	AutoCreateTopics bool
	TLS              *KafkaTLS
	SASL             *KafkaSASL
	// ClientID is the Kafka client id (default "driftcar").
	ClientID string
	// DialTimeout bounds one connection attempt (default 5s).
	DialTimeout time.Duration
	// PingInterval is how often an unready sink checks the brokers
	// (default 5s).
	PingInterval time.Duration
}

// Validate checks o, without reading files or the environment; errors
// name the field.
func (o KafkaOptions) Validate() error {
	var errs []error
	if len(o.Brokers) == 0 {
		errs = append(errs, errors.New("brokers: required"))
	}
	for i, b := range o.Brokers {
		host, port, err := net.SplitHostPort(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("brokers[%d]: %q is not host:port: %w", i, b, err))
			continue
		}
		if p, err := strconv.Atoi(port); host == "" || err != nil || p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("brokers[%d]: %q needs a host and a port in 1..65535", i, b))
		}
	}
	if o.Topic != "" {
		t := strings.NewReplacer("{model}", "m", "{route}", "r").Replace(o.Topic)
		if bad := badTopic(t); bad != "" {
			errs = append(errs, fmt.Errorf("topic: %q %s", o.Topic, bad))
		}
	}
	if _, err := compressionCodec(o.Compression); err != nil {
		errs = append(errs, err)
	}
	acks, err := parseAcks(o.Acks)
	if err != nil {
		errs = append(errs, err)
	}
	if o.Idempotent != nil && *o.Idempotent && err == nil && acks != kgo.AllISRAcks() {
		errs = append(errs, fmt.Errorf("idempotent: needs acks all, got acks %s", o.Acks))
	}
	errs = append(errs, kafkaauth.Validate(o.TLS, o.SASL)...)
	if o.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("dial_timeout: must be >= 0, got %s", o.DialTimeout))
	}
	if o.PingInterval < 0 {
		errs = append(errs, fmt.Errorf("ping_interval: must be >= 0, got %s", o.PingInterval))
	}
	return errors.Join(errs...)
}

// badTopic says why t is not a Kafka topic name, or returns "".
func badTopic(t string) string {
	if t == "" || t == "." || t == ".." || len(t) > 249 {
		return "must be 1 to 249 characters, not . or .."
	}
	for i := 0; i < len(t); i++ {
		if !topicChar(t[i]) {
			return "may hold only letters, digits, '.', '_' and '-'"
		}
	}
	return ""
}

func topicChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

func compressionCodec(s string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(s) {
	case "", "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("compression: unknown %q, want none, gzip, snappy, lz4 or zstd", s)
}

func parseAcks(s string) (kgo.Acks, error) {
	switch strings.ToLower(s) {
	case "", "all", "-1":
		return kgo.AllISRAcks(), nil
	case "leader", "1":
		return kgo.LeaderAck(), nil
	case "none", "0":
		return kgo.NoAck(), nil
	}
	return kgo.Acks{}, fmt.Errorf("acks: unknown %q, want all, leader or none", s)
}

// KafkaSink produces each record, keyed by request id, to its model's
// topic. It never blocks at start: a broker that is down makes Ready
// fail and writes time out.
type KafkaSink struct {
	opts   KafkaOptions
	client *kgo.Client
	state  sinkState
	topics sync.Map // topic template expansion by model+route
	arenas sync.Pool

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

var _ Sink = (*KafkaSink)(nil)

// errNotConnected is Ready's answer before the brokers first answered.
var errNotConnected = errors.New("kafka: no broker reached yet")

// NewKafkaSink builds the producer. It reads the TLS files and the SASL
// password but does not connect.
func NewKafkaSink(o KafkaOptions) (*KafkaSink, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Topic == "" {
		o.Topic = DefaultTopic
	}
	if o.ClientID == "" {
		o.ClientID = "driftcar"
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.PingInterval == 0 {
		o.PingInterval = 5 * time.Second
	}
	codec, _ := compressionCodec(o.Compression)
	acks, _ := parseAcks(o.Acks)
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ClientID(o.ClientID),
		kgo.DialTimeout(o.DialTimeout),
		kgo.ProducerBatchCompression(codec),
		kgo.RequiredAcks(acks),
		kgo.ProducerLinger(0),
	}
	if o.Idempotent == nil && acks != kgo.AllISRAcks() || o.Idempotent != nil && !*o.Idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	if o.AutoCreateTopics {
		opts = append(opts, kgo.AllowAutoTopicCreation())
	}
	auth, err := kafkaauth.Opts(o.TLS, o.SASL)
	if err != nil {
		return nil, err
	}
	opts = append(opts, auth...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot create kafka client: %w", err)
	}
	s := &KafkaSink{opts: o, client: cl, stop: make(chan struct{}), done: make(chan struct{})}
	s.arenas.New = func() any { return new(kafkaArena) }
	s.state.set(errNotConnected)
	go s.pinger()
	return s, nil
}

// pinger checks the brokers while the sink is not ready.
func (s *KafkaSink) pinger() {
	defer close(s.done)
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		if s.state.get() != nil {
			ctx, cancel := context.WithTimeout(context.Background(), s.opts.DialTimeout)
			go func() {
				select {
				case <-s.stop:
					cancel()
				case <-ctx.Done():
				}
			}()
			err := s.client.Ping(ctx)
			cancel()
			if err != nil {
				err = fmt.Errorf("kafka: cannot reach brokers: %w", err)
			}
			s.state.set(err)
		}
		select {
		case <-t.C:
		case <-s.stop:
			return
		}
	}
}

// maxPooledArena caps the value memory a pooled arena keeps.
const maxPooledArena = 4 << 20

// kafkaArena holds one Write's records and their values.
type kafkaArena struct {
	buf  []byte
	ends []int
	recs []kgo.Record
	ptrs []*kgo.Record
}

// Topic returns the topic of a record of model and route.
func (s *KafkaSink) Topic(model, route string) string {
	key := model + "\x00" + route
	if t, ok := s.topics.Load(key); ok {
		return t.(string)
	}
	t := strings.NewReplacer("{model}", model, "{route}", route).Replace(s.opts.Topic)
	b := []byte(t)
	for i, c := range b {
		if !topicChar(c) {
			b[i] = '_'
		}
	}
	t = string(b)
	s.topics.Store(key, t)
	return t
}

// Write produces batch and waits for the acks.
func (s *KafkaSink) Write(ctx context.Context, batch []*Record) error {
	a := s.arenas.Get().(*kafkaArena)
	defer s.arenas.Put(a)
	a.buf, a.ends = a.buf[:0], a.ends[:0]
	// Each record's key then value, back to back; ends holds both ends.
	for _, r := range batch {
		a.buf = append(a.buf, r.RequestID...)
		a.ends = append(a.ends, len(a.buf))
		a.buf = r.AppendJSON(a.buf)
		a.ends = append(a.ends, len(a.buf))
	}
	a.recs, a.ptrs = a.recs[:0], a.ptrs[:0]
	start := 0
	for i, r := range batch {
		k, v := a.ends[2*i], a.ends[2*i+1]
		a.recs = append(a.recs, kgo.Record{
			Topic: s.Topic(r.Model, r.Route),
			Key:   a.buf[start:k:k],
			Value: a.buf[k:v:v],
		})
		start = v
	}
	for i := range a.recs {
		a.ptrs = append(a.ptrs, &a.recs[i])
	}
	err := s.client.ProduceSync(ctx, a.ptrs...).FirstErr()
	clear(a.recs)
	clear(a.ptrs)
	if cap(a.buf) > maxPooledArena {
		a.buf = nil
	}
	if err != nil {
		err = fmt.Errorf("cannot produce to kafka: %w", err)
	}
	s.state.set(err)
	return err
}

// Ready reports whether the brokers answered the last write or ping.
func (s *KafkaSink) Ready() error { return s.state.get() }

// Close stops the pinger and closes the client, failing what it still
// buffers.
func (s *KafkaSink) Close(context.Context) error {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		s.client.Close()
	})
	return nil
}
