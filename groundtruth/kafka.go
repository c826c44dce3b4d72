package groundtruth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/driftcar/driftcar/internal/kafkaauth"
)

// DefaultKafkaPollRecords caps the records taken from Kafka per batch.
const DefaultKafkaPollRecords = 500

// KafkaOptions configure the label consumer: a franz-go consumer of one
// topic in a consumer group. A record's key is the request id and its
// value an item object, {"row": 0, "label": 1, "time": "…"}; row and
// time are optional, and a request_id in the value stands in for a
// missing key.
type KafkaOptions struct {
	// Brokers are the seed brokers, host:port each; required.
	Brokers []string
	// Topic holds the labels; required.
	Topic string
	// Group is the consumer group; required. A new group starts at the
	// topic's start.
	Group string
	TLS   *kafkaauth.TLS
	SASL  *kafkaauth.SASL
	// ClientID is the Kafka client id (default "driftcar").
	ClientID string
	// DialTimeout bounds one connection attempt (default 5s).
	DialTimeout time.Duration
	// PollRecords caps one batch (default DefaultKafkaPollRecords).
	PollRecords int
	// Feedback joins and counts the labels; required.
	Feedback *Feedback
	// Logger defaults to zap.NewNop().
	Logger *zap.Logger
}

// KafkaLabels consumes labels until Close. A record's offset is marked
// for the automatic commit only once its batch is applied, so delivery
// is at least once: a label seen twice after a rebalance or a crash
// counts as duplicate.
type KafkaLabels struct {
	client *kgo.Client
	fb     *Feedback
	log    *zap.Logger
	max    int
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func (o KafkaOptions) validate() error {
	var errs []error
	if len(o.Brokers) == 0 {
		errs = append(errs, errors.New("brokers: required"))
	}
	if o.Topic == "" {
		errs = append(errs, errors.New("topic: required"))
	}
	if o.Group == "" {
		errs = append(errs, errors.New("group: required"))
	}
	if o.Feedback == nil {
		errs = append(errs, errors.New("feedback: required"))
	}
	if o.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("dial_timeout: must be >= 0, got %s", o.DialTimeout))
	}
	if o.PollRecords < 0 {
		errs = append(errs, fmt.Errorf("poll_records: must be >= 0, got %d", o.PollRecords))
	}
	errs = append(errs, kafkaauth.Validate(o.TLS, o.SASL)...)
	return errors.Join(errs...)
}

// StartKafka starts the consumer; it does not wait for the brokers. It
// stops at Close or when ctx ends.
func StartKafka(ctx context.Context, o KafkaOptions) (*KafkaLabels, error) {
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("cannot start the kafka label consumer: %w", err)
	}
	if o.ClientID == "" {
		o.ClientID = "driftcar"
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.PollRecords == 0 {
		o.PollRecords = DefaultKafkaPollRecords
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	auth, err := kafkaauth.Opts(o.TLS, o.SASL)
	if err != nil {
		return nil, fmt.Errorf("cannot start the kafka label consumer: %w", err)
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ClientID(o.ClientID),
		kgo.DialTimeout(o.DialTimeout),
		kgo.ConsumeTopics(o.Topic),
		kgo.ConsumerGroup(o.Group),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitMarks(),
	}, auth...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot create kafka client: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	k := &KafkaLabels{
		client: cl, fb: o.Feedback, log: o.Logger, max: o.PollRecords,
		cancel: cancel, done: make(chan struct{}),
	}
	go k.run(ctx)
	return k, nil
}

func (k *KafkaLabels) run(ctx context.Context) {
	defer close(k.done)
	items := make([]Item, 0, k.max)
	recs := make([]*kgo.Record, 0, k.max)
	for {
		fs := k.client.PollRecords(ctx, k.max)
		if fs.IsClientClosed() {
			return
		}
		fs.EachError(func(topic string, partition int32, err error) {
			if !errors.Is(err, context.Canceled) {
				k.log.Warn("cannot fetch labels from kafka", zap.String("topic", topic), zap.Int32("partition", partition), zap.Error(err))
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			items = append(items, recordItem(r))
			recs = append(recs, r)
		})
		if len(items) > 0 {
			k.fb.Apply(items)
			k.client.MarkCommitRecords(recs...)
			clear(items)
			clear(recs)
			items, recs = items[:0], recs[:0]
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// recordItem reads one label record; what is wrong with it is kept in
// the item for Apply to count as invalid.
func recordItem(r *kgo.Record) Item {
	if !json.Valid(r.Value) {
		return Item{decodeErr: errors.New("value: not a JSON document")}
	}
	it := decodeItem(r.Value)
	if it.decodeErr == nil && len(r.Key) > 0 {
		it.RequestID = string(r.Key)
	}
	return it
}

// Close stops consuming, commits what was applied and leaves the group.
func (k *KafkaLabels) Close() {
	k.once.Do(func() {
		k.cancel()
		<-k.done
		k.client.Close()
	})
}
