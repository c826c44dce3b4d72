package drift

import (
	"bytes"
	"strings"
	"testing"
)

func TestShortRunPrintsTheTables(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates hours of traffic")
	}
	var out, errOut bytes.Buffer
	if code := RunCLI([]string{"--short", "--trials", "3"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	text := out.String()
	for _, want := range []string{"false alarms:", "mean+0.5sd", "exact KS MTTD", "memory per feature: binned", "performance drift", "exact binomial, sliding 5m"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if code := RunCLI([]string{"--false-alarm-rate", "often"}, &out, &errOut); code != 2 {
		t.Errorf("bad rate: exit %d; want 2", code)
	}
}
