package groundtruth

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/driftcar/driftcar/detector/stat"
	"github.com/driftcar/driftcar/groundtruth/perf"
	"github.com/driftcar/driftcar/internal/payload"
)

// labelBodies are JSON feedback bodies of perBody items each, one per id,
// labelled 0 and 1 in turn, observed a second after the test clock's
// start.
func labelBodies(ids [][]byte, perBody int) [][]byte {
	bodies := make([][]byte, 0, len(ids)/perBody)
	for r := 0; r+perBody <= len(ids); r += perBody {
		var sb strings.Builder
		sb.WriteString(`{"items":[`)
		for j := range perBody {
			if j > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"request_id":%q,"row":0,"label":%d,"time":"2026-03-01T12:00:01Z"}`, ids[r+j], j%2)
		}
		sb.WriteString(`]}`)
		bodies = append(bodies, []byte(sb.String()))
	}
	return bodies
}

// labelPathRoutes is one route with a live arm, a 10% canary and a
// shadow: every label counts for its arm, the shadow and the pair.
var labelPathRoutes = []CaptureRoute{{Name: "predict", Protocol: payload.KServeV1, Arms: []string{"live", "canary"}, Shadow: "shadow"}}

func newBenchMonitor(b *testing.B, clock *testClock) *Monitor {
	b.Helper()
	cal, err := stat.NewCalibrator(stat.Options{})
	if err != nil {
		b.Fatal(err)
	}
	m, err := NewMonitor(MonitorOptions{
		Spec: perf.Spec{Kind: perf.Binary}, Routes: labelPathRoutes, Calibrator: cal, Now: clock.Now,
	})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// fillLabelPathTable stores every id's live prediction (arm 1 for every
// tenth) and the shadow's.
func fillLabelPathTable(b *testing.B, clock *testClock, ids [][]byte) *Table {
	b.Helper()
	tab := newTestTable(b, benchEntries, time.Hour, clock)
	for i, id := range ids {
		arm := uint8(0)
		if i%10 == 9 {
			arm = 1
		}
		tab.PutLive(id, 0, arm, []Pred{{Predicted: float64(i % 2), Score: 0.25 + 0.5*float64(i%2)}})
		tab.PutShadow(id, 0, []Pred{{Predicted: float64(i % 3 % 2), Score: 0.5}})
	}
	return tab
}

// BenchmarkLabelPath is issue 17's "100,000 labels/s joined on one core":
// bodies of 1000 labels decoded (decode=on) or handed over decoded, each
// label parsed by the binary rule, claimed in a 1,000,000-entry table,
// counted in driftcar_labels_total and handed to OnJoin — a real
// Monitor's Join (for its arm, the shadow and the pair) or a counter.
// HTTP is left out (BenchmarkFeedbackHTTP has it).
//
//	go test -run '^$' -bench BenchmarkLabelPath -benchmem -cpu 1 ./groundtruth/
func BenchmarkLabelPath(b *testing.B) {
	const perBody, bodies = 1000, 100
	ids := benchIDs(perBody * bodies)
	raw := labelBodies(ids, perBody)
	decoded := make([][]Item, len(raw))
	for i, body := range raw {
		var err error
		if decoded[i], err = decodeJSONBody(body); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name            string
		decode, monitor bool
	}{
		{"decode=off/onjoin=count", false, false},
		{"decode=off/onjoin=monitor", false, true},
		{"decode=on/onjoin=count", true, false},
		{"decode=on/onjoin=monitor", true, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			clock := newTestClock()
			joins := 0
			onJoin := func(*Entry, float64, time.Time) { joins++ }
			var m *Monitor
			if tc.monitor {
				m = newBenchMonitor(b, clock)
				onJoin = m.Join
			}
			spec, err := perf.Spec{Kind: perf.Binary}.WithDefaults()
			if err != nil {
				b.Fatal(err)
			}
			var fb *Feedback
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i%bodies == 0 {
					b.StopTimer()
					fb, err = NewFeedback(FeedbackOptions{
						Table: fillLabelPathTable(b, clock, ids), ParseLabel: spec.ParseLabel, OnJoin: onJoin,
						RouteNames: []string{"predict"}, Registerer: prometheus.NewRegistry(), Now: clock.Now,
					})
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				items := decoded[i%bodies]
				if tc.decode {
					if items, err = decodeJSONBody(raw[i%bodies]); err != nil {
						b.Fatal(err)
					}
				}
				if a := fb.Apply(items); a.Joined != perBody {
					b.Fatalf("body %d: %+v; want %d joined", i, a, perBody)
				}
			}
			b.StopTimer()
			labels := float64(b.N) * perBody
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/labels, "ns/label")
			b.ReportMetric(labels/b.Elapsed().Seconds(), "labels/s")
			b.ReportMetric(0, "ns/op")
			if m != nil {
				arms := m.View().Routes[0].Arms
				if live, shadow := arms[0].Labels+arms[1].Labels, arms[2].Labels; live != uint64(labels) || shadow != uint64(labels) {
					b.Fatalf("monitor counted %d live and %d shadow labels; want %.0f each", live, shadow, labels)
				}
			} else if joins != int(labels) {
				b.Fatalf("%d joins; want %.0f", joins, labels)
			}
		})
	}
}
