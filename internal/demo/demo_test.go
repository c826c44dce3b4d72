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
// features and on no others, shadow agreement must be near its design,
// and the labels must close the loop (checkGroundTruth).
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for 35 seconds")
	}
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{
		Rate: 150, Duration: 35 * time.Second, DriftAt: 10 * time.Second, Seed: 3,
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
	checkGroundTruth(t, res)
}

// checkGroundTruth: the labels were joined, the live arm's performance
// moved to drift after the injected concept change and not before, and
// the shadow, designed worse, is judged worse.
func checkGroundTruth(t *testing.T, res *Result) {
	t.Helper()
	l := res.Labels
	if l.Joined == 0 || l.Sent < uint64(0.4*float64(res.Requests)) {
		t.Errorf("labels: %d sent, %d joined for %d requests; want about %.0f%% sent, all joined", l.Sent, l.Joined, res.Requests, 100*LabelShare)
	}
	if missed := l.Unmatched + l.Expired + l.Duplicate + l.Invalid + l.Failed + l.Dropped; missed > l.Sent/100 {
		t.Errorf("labels: %+v; want at most 1%% not joined", l)
	}
	if res.PerformanceFalseAlarm {
		t.Errorf("live performance was in drift before the injection: %+v", res.TruthBefore)
	}
	if !res.PerformanceDetected {
		t.Errorf("live performance drift not detected after the injection: %+v", res.Arm("live"))
	}
	if sh := res.Arm("shadow"); sh.Verdict != "worse" {
		t.Errorf("shadow verdict: got %q (%+v); want worse", sh.Verdict, sh)
	}
}

// TestDemoGRPC runs the demo over gRPC: the models speak the Open
// Inference Protocol's ModelInfer, the traffic goes through driftcar's
// gRPC listener, drift must be detected from the sampled calls as from
// REST requests, on the drifted features and no others, the shadow's
// agreement must be near its design, and the labels must join the gRPC
// answers of every arm (checkGroundTruth).
func TestDemoGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for 35 seconds")
	}
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{
		Rate: 150, Duration: 35 * time.Second, DriftAt: 10 * time.Second, Seed: 3, GRPC: true,
		Listen: "127.0.0.1:0", Admin: "127.0.0.1:0", GRPCListen: "127.0.0.1:0", Out: &out, CalibrationTicks: 20000,
	})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	t.Logf("demo output:\n%s", out.String())
	for _, f := range Drifted {
		if _, ok := res.DetectedAfter[f]; !ok {
			t.Errorf("drift on %s was not detected over gRPC", f)
		}
	}
	if len(res.FalseAlarms) > 0 {
		t.Errorf("false alarms on %v", res.FalseAlarms)
	}
	if res.Errors > 0 || res.Requests < 3000 {
		t.Errorf("traffic: %d calls, %d errors", res.Requests, res.Errors)
	}
	// The shadow compares over gRPC too; its agreement stays near design.
	if math.Abs(res.AgreementBefore-res.Designed) > 0.03 {
		t.Errorf("shadow agreement over gRPC before drift: got %.3f; designed %.3f", res.AgreementBefore, res.Designed)
	}
	if !strings.Contains(out.String(), "over gRPC") {
		t.Error("the output does not say the traffic is gRPC")
	}
	checkGroundTruth(t, res)
}

// TestGRPCModelReadsWhatTrafficWrites: the gRPC model server decides on
// the applicant the traffic's ModelInferRequest carries, as the REST one
// does on the JSON instance.
func TestGRPCModelReadsWhatTrafficWrites(t *testing.T) {
	want := applicant{Age: 41, Income: 52000.5, DebtRatio: 0.25, Country: "DE", Channel: "web"}
	got, id, err := readApplicant(inferRequest("r-1", want))
	if err != nil || id != "r-1" {
		t.Fatalf("readApplicant: %v, id %q", err, id)
	}
	if got.Country != want.Country || got.Channel != want.Channel || got.Age != want.Age || math.Abs(got.Income-want.Income) > 0.01 || math.Abs(got.DebtRatio-want.DebtRatio) > 1e-6 {
		t.Errorf("got %+v; want %+v (FP32)", got, want)
	}
}
