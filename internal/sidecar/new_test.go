package sidecar

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

// TestNewStopsWhatItStartedOnError: each way New can fail after it has
// started the taps, the drift monitor, the webhook or a listener leaves
// no goroutine running and no port bound.
func TestNewStopsWhatItStartedOnError(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", `{"predictions":[0.5]}`))
	shadowAddr := testupstream.Start(t, testupstream.Answer("shadow", `{"predictions":[0.5]}`))
	hook := testupstream.Start(t, testupstream.Answer("hook", `{}`))
	dir := t.TempDir()
	ref := filepath.Join(dir, "reference.json")
	writeReference(t, ref)
	corrupt := filepath.Join(dir, "corrupt.json")
	testutil.WriteFile(t, corrupt, `{"format":"driftcar-reference"`)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	everything := func(listen, admin, reference, extra string) string {
		return fmt.Sprintf(`listen: %s
admin: %s
model: credit-risk
%supstreams:
  live:   { address: %s }
  canary: { address: %s }
  shadow: { address: %s }
routes:
  - name: predict
    split: [{ upstream: live, weight: 90 }, { upstream: canary, weight: 10 }]
    sample: { fraction: 1 }
    shadow: { upstream: shadow, fraction: 1 }
features:
  - { name: age, type: numeric }
prediction: { type: numeric }
reference: { file: %s }
drift: { windows: [5m], min_samples: 100, webhook: { url: "http://%s/hook" } }
canary_guard: { min_requests: 200, window: 1m }
`, listen, admin, extra, live, live, shadowAddr, reference, hook)
	}
	free := "127.0.0.1:0"
	tests := []struct {
		name, yaml, want string
	}{
		{"corrupt reference", everything(free, free, corrupt, ""), "reference"},
		{"listen address in use", everything(busy.Addr().String(), free, ref, ""), "(listen)"},
		{"admin address in use", everything(free, busy.Addr().String(), ref, ""), "(admin)"},
		{"admin token variable unset", everything(free, free, ref, "admin_token_env: DRIFTCAR_TEST_UNSET_TOKEN\n"), "admin_token_env"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, append(testupstream.GoleakOptions, goleak.IgnoreCurrent())...)
			path := filepath.Join(t.TempDir(), "driftcar.yaml")
			testutil.WriteFile(t, path, tc.yaml)
			s, err := New(Options{ConfigPath: path})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an error naming %q", s, err, tc.want)
			}
		})
	}
}
