package predlog

import (
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestCloseStopsGoroutines: after Close, no goroutine of the log or its
// sinks is left (lumberjack's compressor goroutine excepted: it has no
// way to stop).
func TestCloseStopsGoroutines(t *testing.T) {
	base := goleak.IgnoreCurrent()
	brokers := startKafka(t)
	rc := startReceiver(t)
	file, err := NewFileSink(FileOptions{Path: filepath.Join(t.TempDir(), "p.jsonl"), Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	ce, err := NewCloudEventsSink(CloudEventsOptions{URL: rc.url})
	if err != nil {
		t.Fatal(err)
	}
	kafka, err := NewKafkaSink(KafkaOptions{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	l, m := newTestLog(t,
		SinkSpec{Name: "file", Sink: file, Queue: QueueOptions{Workers: 2}},
		SinkSpec{Name: "ce", Sink: ce, Queue: QueueOptions{Workers: 3}},
		SinkSpec{Name: "kafka", Sink: kafka},
	)
	for i := range 100 {
		r := l.Acquire()
		fill(r, i)
		l.Offer(r)
	}
	if err := closeLog(t, l, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"file", "ce", "kafka"} {
		if c := readCounts(m, name); c.written != 100 {
			t.Errorf("%s: %+v; want 100 written", name, c)
		}
	}
	goleak.VerifyNone(t, base,
		goleak.IgnoreTopFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"),
		// The receiver and the kfake cluster stop in t.Cleanup, after this check.
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).run"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).listen"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*broker).listen"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).handleConn"),
		goleak.IgnoreAnyFunction("github.com/cloudevents/sdk-go/v2/protocol/http.(*Protocol).OpenInbound"),
		goleak.IgnoreAnyFunction("github.com/cloudevents/sdk-go/v2/client.(*ceClient).StartReceiver.func2"),
		goleak.IgnoreAnyFunction("net/http.(*conn).serve"),
		goleak.IgnoreAnyFunction("net/http.(*Server).Serve"),
	)
}
