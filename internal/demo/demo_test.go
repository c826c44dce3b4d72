package demo

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/driftcar/driftcar/internal/testupstream"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testupstream.GoleakOptions...)
}

// TestDemo runs the demo briefly: drift must be detected on the drifted
// features and on no others, and shadow agreement must be near its design.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for 25 seconds")
	}
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{
		Rate: 150, Duration: 25 * time.Second, DriftAt: 10 * time.Second, Seed: 3,
		Listen: "127.0.0.1:0", Admin: "127.0.0.1:0", Out: &out, CalibrationTicks: 20000,
	})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	t.Logf("demo output:\n%s", out.String())
	for _, f := range Drifted {
		if _, ok := res.DetectedAfter[f]; !ok {
			t.Errorf("drift on %s was not detected", f)
		}
	}
	if len(res.FalseAlarms) > 0 {
		t.Errorf("false alarms on %v", res.FalseAlarms)
	}
	if math.Abs(res.AgreementBefore-res.Designed) > 0.03 {
		t.Errorf("shadow agreement before drift: got %.3f; designed %.3f", res.AgreementBefore, res.Designed)
	}
	if res.Errors > 0 || res.Requests < 3000 {
		t.Errorf("traffic: %d requests, %d errors", res.Requests, res.Errors)
	}
	if !strings.Contains(out.String(), "driftcar demo summary") {
		t.Error("no summary printed")
	}
}
