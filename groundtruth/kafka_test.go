package groundtruth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/driftcar/driftcar/internal/kafkaauth"
	"github.com/driftcar/driftcar/internal/testutil"
)

const labelTopic = "driftcar.labels"

func startKafkaCluster(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, labelTopic))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func produce(t *testing.T, brokers []string, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(labelTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

func label(key, value string) *kgo.Record {
	r := &kgo.Record{Value: []byte(value)}
	if key != "" {
		r.Key = []byte(key)
	}
	return r
}

func (fx *feedbackFixture) total(t *testing.T) float64 {
	t.Helper()
	var n float64
	for _, route := range []string{"credit", "fraud", "unknown"} {
		for r := range numResults {
			n += fx.labels(t, route, r.String())
		}
	}
	return n
}

func startLabels(t *testing.T, fx *feedbackFixture, brokers []string) *KafkaLabels {
	t.Helper()
	k, err := StartKafka(context.Background(), KafkaOptions{
		Brokers: brokers, Topic: labelTopic, Group: "driftcar-test", Feedback: fx.fb, Logger: zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	return k
}

// TestKafkaLabels produces labels with franz-go to a kfake cluster and
// checks the joins and the counters; a second consumer in the same group
// resumes after the committed offsets, so nothing is taken twice.
func TestKafkaLabels(t *testing.T) {
	brokers := startKafkaCluster(t)
	fx := newFeedbackFixture(t, 100, FeedbackOptions{})
	fx.table.PutLive([]byte("k1"), 0, 1, []Pred{{1, 0.9}, {0, 0.2}})
	fx.table.PutLive([]byte("k2"), 1, 0, []Pred{{0, 0.4}})
	fx.table.PutLive([]byte("k3"), 1, 0, []Pred{{1, 0.6}})
	produce(t, brokers,
		label("k1", `{"row": 0, "label": 1, "time": "2026-03-01T12:00:10Z"}`),
		label("k1", `{"row": 1, "label": "no"}`),
		label("", `{"request_id": "k2", "label": "yes"}`),
		label("k1", `{"row": 1, "label": 0}`),
		label("nope", `{"label": 1}`),
		label("k2", `not json`),
		label("k2", `{"label": 1} trailing`),
		label("k2", `{"label": 1, "extra": 2}`),
		label("", `{"label": 1}`),
	)
	k := startLabels(t, fx, brokers)
	testutil.Eventually(t, 15*time.Second, "9 labels counted", func() bool { return fx.total(t) == 9 })
	for _, tc := range []struct {
		route, result string
		want          float64
	}{
		{"credit", "joined", 2}, {"fraud", "joined", 1}, {"credit", "duplicate", 1},
		{"unknown", "unmatched", 1}, {"unknown", "invalid", 4},
	} {
		if got := fx.labels(t, tc.route, tc.result); got != tc.want {
			t.Errorf("driftcar_labels_total{route=%q,result=%q} = %v; want %v", tc.route, tc.result, got, tc.want)
		}
	}
	// Partitions interleave, so the joins are checked as a set.
	want := map[Pred]join{
		{1, 0.9}: {actual: 1, at: time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC)},
		{0, 0.2}: {actual: 0, at: fx.clock.Now()},
		{0, 0.4}: {e: Entry{Route: 1}, actual: 1, at: fx.clock.Now()},
	}
	fx.mu.Lock()
	for _, j := range fx.joins {
		w, ok := want[j.e.Live]
		if !ok || j.e.Route != w.e.Route || j.actual != w.actual || !j.at.Equal(w.at) {
			t.Errorf("join %+v; want one of %+v", j, want)
		}
		delete(want, j.e.Live)
	}
	fx.mu.Unlock()
	if len(want) != 0 {
		t.Errorf("no joins for %+v", want)
	}

	k.Close()
	produce(t, brokers, label("k3", `{"label": 1}`))
	startLabels(t, fx, brokers)
	testutil.Eventually(t, 15*time.Second, "the 10th label counted", func() bool { return fx.total(t) >= 10 })
	if got := fx.labels(t, "fraud", "joined"); got != 2 {
		t.Errorf("joined on route fraud after the restart = %v; want 2", got)
	}
	if got := fx.total(t); got != 10 {
		t.Errorf("%v labels counted after the restart; want 10 (the committed ones not taken again)", got)
	}
}

func TestStartKafkaRejects(t *testing.T) {
	_, err := StartKafka(context.Background(), KafkaOptions{SASL: &kafkaauth.SASL{Mechanism: "plain"}})
	for _, want := range []string{"brokers: required", "topic: required", "group: required", "feedback: required", "sasl.user: required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("StartKafka error %v; want it to contain %q", err, want)
		}
	}
}
