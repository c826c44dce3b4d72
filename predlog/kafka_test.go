package predlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/driftcar/driftcar/internal/testutil"
)

const testTopic = "driftcar.predictions.credit-risk"

func startKafka(t *testing.T, opts ...kfake.Opt) []string {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(3, testTopic)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// consumed is one record read back: its key, value and partition.
type consumed struct {
	key, value string
	partition  int32
}

// readBack reads n records of topic from the start with franz-go.
func readBack(t *testing.T, brokers []string, topic string, n int, extra ...kgo.Opt) []consumed {
	t.Helper()
	opts := append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out []consumed
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records before the deadline", len(out), n)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) { out = append(out, consumed{string(r.Key), string(r.Value), r.Partition}) })
	}
	return out
}

// checkConsumed checks that recs are the n records fill made, keyed by
// request id, each key on one partition.
func checkConsumed(t *testing.T, recs []consumed, n int) {
	t.Helper()
	if len(recs) != n {
		t.Fatalf("%d records; want %d", len(recs), n)
	}
	seen := map[string]bool{}
	for _, c := range recs {
		var i int
		if _, err := fmtSscan(c.key, &i); err != nil {
			t.Fatalf("key %q is not a request id", c.key)
		}
		want := &Record{}
		fill(want, i)
		var got, exp map[string]any
		if err := json.Unmarshal([]byte(c.value), &got); err != nil {
			t.Fatalf("value of %s is not JSON: %v", c.key, err)
		}
		_ = json.Unmarshal(want.AppendJSON(nil), &exp)
		if !jsonEqual(got, exp) {
			t.Errorf("value of %s: %s; want %s", c.key, c.value, want.AppendJSON(nil))
		}
		seen[c.key] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct keys; want %d", len(seen), n)
	}
}

func TestKafkaSink(t *testing.T) {
	brokers := startKafka(t, kfake.AllowAutoTopicCreation())
	for _, tc := range []struct{ compression, acks string }{
		{"none", "all"}, {"gzip", "leader"}, {"snappy", "none"}, {"lz4", "all"}, {"zstd", "all"},
	} {
		t.Run(tc.compression+"/"+tc.acks, func(t *testing.T) {
			topic := "driftcar.test." + tc.compression
			sink, err := NewKafkaSink(KafkaOptions{
				Brokers: brokers, Topic: "driftcar.test.{model}", Compression: tc.compression, Acks: tc.acks,
				AutoCreateTopics: true, PingInterval: 10 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			l, m := newTestLog(t, SinkSpec{Name: "fleet", Sink: sink, Queue: QueueOptions{BatchSize: 16}})
			const n = 50
			for i := range n {
				r := l.Acquire()
				fill(r, i)
				r.Model = tc.compression
				l.Offer(r)
			}
			testutil.Eventually(t, 15*time.Second, "records written", func() bool { return readCounts(m, "fleet").written == n })
			testutil.Eventually(t, 5*time.Second, "sink ready", func() bool { return l.Ready() == nil })
			if err := closeLog(t, l, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			got := readBack(t, brokers, topic, n)
			for i := range got {
				got[i].value = strings.Replace(got[i].value, `"model":"`+tc.compression+`"`, `"model":"credit-risk"`, 1)
			}
			checkConsumed(t, got, n)
		})
	}
}

// TestKafkaTopicPerModel: the default template sends each model to its
// own topic, and a key always lands on the same partition.
func TestKafkaTopicPerModel(t *testing.T) {
	brokers := startKafka(t)
	sink, err := NewKafkaSink(KafkaOptions{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close(context.Background())
	if got := sink.Topic("credit risk/v2", "r"); got != "driftcar.predictions.credit_risk_v2" {
		t.Errorf("Topic = %q; want invalid characters mapped to _", got)
	}
	var batch []*Record
	for i := range 20 {
		r := &Record{}
		fill(r, i%5) // five keys, four times each
		batch = append(batch, r)
	}
	if err := sink.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	got := readBack(t, brokers, testTopic, 20)
	part := map[string]int32{}
	for _, c := range got {
		if p, ok := part[c.key]; ok && p != c.partition {
			t.Errorf("key %s on partitions %d and %d; want one", c.key, p, c.partition)
		}
		part[c.key] = c.partition
	}
	if len(part) != 5 {
		t.Errorf("%d keys; want 5", len(part))
	}
}

// TestKafkaKcat reads what the sink produced with Debian's kcat, an
// independent client (librdkafka).
func TestKafkaKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install -y kcat); skipping the independent read-back")
	}
	brokers := startKafka(t)
	sink, err := NewKafkaSink(KafkaOptions{Brokers: brokers, Compression: "lz4"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 30
	var batch []*Record
	for i := range n {
		r := &Record{}
		fill(r, i)
		batch = append(batch, r)
	}
	if err := sink.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	_ = sink.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, "-b", strings.Join(brokers, ","), "-C", "-t", testTopic,
		"-o", "beginning", "-e", "-q", "-f", "%k\t%p\t%s\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat: %v\n%s", err, stderr.String())
	}
	var got []consumed
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("kcat line %q: want key, partition, value", line)
		}
		got = append(got, consumed{key: parts[0], value: parts[2]})
	}
	checkConsumed(t, got, n)
}

func TestKafkaSASL(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			brokers := startKafka(t, kfake.EnableSASL(), kfake.Superuser(mech, "driftcar", "s3cret"))
			t.Setenv("DRIFTCAR_TEST_KAFKA_PASSWORD", "s3cret")
			sasl := &KafkaSASL{Mechanism: strings.ToLower(mech), User: "driftcar", PasswordEnv: "DRIFTCAR_TEST_KAFKA_PASSWORD"}
			sink, err := NewKafkaSink(KafkaOptions{Brokers: brokers, SASL: sasl, PingInterval: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer sink.Close(context.Background())
			r := &Record{}
			fill(r, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := sink.Write(ctx, []*Record{r}); err != nil {
				t.Fatalf("Write with SASL: %v", err)
			}
			checkConsumed(t, readBack(t, brokers, testTopic, 1, kgo.SASL(saslMechanism(t, mech))), 1)

			t.Setenv("DRIFTCAR_TEST_KAFKA_PASSWORD", "wrong")
			bad, err := NewKafkaSink(KafkaOptions{Brokers: brokers, SASL: sasl, PingInterval: 10 * time.Millisecond, DialTimeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer bad.Close(context.Background())
			testutil.Eventually(t, 10*time.Second, "wrong password reported by Ready", func() bool {
				err := bad.Ready()
				return err != nil && !errors.Is(err, errNotConnected)
			})
		})
	}
}

// TestKafkaBrokerDown: a broker that is down at start, or one that
// accepts connections and never answers, does not block New or Offer;
// the sink is not ready and records are dropped and counted.
func TestKafkaBrokerDown(t *testing.T) {
	refused := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	silent := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var conns []net.Conn
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c) // held open, never read
				mu.Unlock()
			}
		}()
		t.Cleanup(func() {
			ln.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				c.Close()
			}
		})
		return ln.Addr().String()
	}
	for _, tc := range []struct {
		name string
		addr func(*testing.T) string
	}{{"refused", refused}, {"silent", silent}} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			sink, err := NewKafkaSink(KafkaOptions{Brokers: []string{tc.addr(t)}, DialTimeout: 200 * time.Millisecond, PingInterval: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el > time.Second {
				t.Errorf("NewKafkaSink took %v; want it not to wait for the broker", el)
			}
			q := QueueOptions{MaxRecords: 100, BatchSize: 10, MaxAttempts: 2, Backoff: fastRetry, WriteTimeout: 300 * time.Millisecond}
			l, m := newTestLog(t, SinkSpec{Name: "fleet", Sink: sink, Queue: q})
			if err := l.Ready(); err == nil || !strings.Contains(err.Error(), "log sink fleet") {
				t.Errorf("Ready: %v; want the sink named as not ready", err)
			}
			const n = 5000
			start = time.Now()
			for i := range n {
				r := l.Acquire()
				fill(r, i)
				l.Offer(r)
				if d := l.runners[0].depth.Load(); d > int64(q.MaxRecords+q.BatchSize) {
					t.Fatalf("depth %d above the bound", d)
				}
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("%d Offers took %v; want non-blocking", n, el)
			}
			testutil.Eventually(t, 10*time.Second, "a batch given up", func() bool {
				return readCounts(m, "fleet").dropped[ReasonRetriesExhausted] > 0
			})
			if err := l.Ready(); err == nil {
				t.Errorf("Ready: nil; want not ready")
			}
			_ = closeLog(t, l, 500*time.Millisecond)
			c := readCounts(m, "fleet")
			if c.written != 0 || c.written+c.droppedTotal() != n || c.dropped[ReasonQueueFull] == 0 {
				t.Errorf("counts %+v; want all %d dropped, queue_full among them", c, n)
			}
		})
	}
}

func TestKafkaOptionsValidate(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name string
		o    KafkaOptions
		want string
	}{
		{"no brokers", KafkaOptions{}, "brokers: required"},
		{"no port", KafkaOptions{Brokers: []string{"kafka-0"}}, "brokers[0]: "},
		{"bad port", KafkaOptions{Brokers: []string{"k:0", "k:x"}}, "brokers[1]: "},
		{"topic", KafkaOptions{Brokers: []string{"k:9092"}, Topic: "bad topic"}, `topic: "bad topic"`},
		{"compression", KafkaOptions{Brokers: []string{"k:9092"}, Compression: "brotli"}, `compression: unknown "brotli"`},
		{"acks", KafkaOptions{Brokers: []string{"k:9092"}, Acks: "two"}, `acks: unknown "two"`},
		{"idempotent", KafkaOptions{Brokers: []string{"k:9092"}, Acks: "leader", Idempotent: &yes}, "idempotent: needs acks all"},
		{"tls", KafkaOptions{Brokers: []string{"k:9092"}, TLS: &KafkaTLS{CertFile: "c.pem"}}, "tls: cert_file and key_file"},
		{"sasl", KafkaOptions{Brokers: []string{"k:9092"}, SASL: &KafkaSASL{Mechanism: "gssapi"}}, `sasl.mechanism: unknown "gssapi"`},
		{"sasl user", KafkaOptions{Brokers: []string{"k:9092"}, SASL: &KafkaSASL{Mechanism: "plain"}}, "sasl.user: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("empty password env", func(t *testing.T) {
		t.Setenv("DRIFTCAR_TEST_EMPTY", "")
		_, err := NewKafkaSink(KafkaOptions{Brokers: []string{"k:9092"}, SASL: &KafkaSASL{Mechanism: "plain", User: "u", PasswordEnv: "DRIFTCAR_TEST_EMPTY"}})
		if err == nil || !strings.Contains(err.Error(), "sasl.password_env: environment variable DRIFTCAR_TEST_EMPTY is empty") {
			t.Fatalf("got %v; want the empty variable named", err)
		}
	})
	t.Run("missing ca file", func(t *testing.T) {
		_, err := NewKafkaSink(KafkaOptions{Brokers: []string{"k:9092"}, TLS: &KafkaTLS{CAFile: t.TempDir() + "/none.pem"}})
		if err == nil || !strings.Contains(err.Error(), "tls.ca_file: ") {
			t.Fatalf("got %v; want tls.ca_file named", err)
		}
	})
}
