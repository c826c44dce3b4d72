package harness

import (
	"path/filepath"
	"testing"

	"github.com/driftcar/driftcar/bench/modelstub"
	"github.com/driftcar/driftcar/config"
)

// TestDriftcarConfigsParse: every driftcar scenario's config is valid for
// both protocols, so a config schema change breaks this test and not the
// benchmark run.
func TestDriftcarConfigsParse(t *testing.T) {
	up := upstreamAddrs{Live: "127.0.0.1:1", Canary: "127.0.0.1:2", Shadow: "127.0.0.1:3", SlowShadow: "127.0.0.1:4", Silent: "127.0.0.1:5", Refused: "127.0.0.1:6"}
	for _, p := range []modelstub.Protocol{modelstub.V1, modelstub.V2} {
		ref := filepath.Join(t.TempDir(), "ref dir", "reference.json")
		if err := writeReference(ref, p); err != nil {
			t.Fatal(err)
		}
		for _, s := range scenarios {
			if s.Kind != KindDriftcar {
				continue
			}
			t.Run(string(p)+"/"+s.Name, func(t *testing.T) {
				yaml, err := driftcarConfig(s.Name, "127.0.0.1:0", "127.0.0.1:0", up, p, ref, t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				cfg, err := config.Parse([]byte(yaml))
				if err != nil {
					t.Fatalf("%v\n%s", err, yaml)
				}
				r := cfg.Routes[0]
				if got, want := r.Shadow != nil, s.Name == DriftcarShadow || s.Name == DriftcarSlowShadow || s.Name == DriftcarAll; got != want {
					t.Errorf("shadow %v; want %v", got, want)
				}
				if got, want := r.Sample != nil, s.Name == DriftcarSample || s.Name == DriftcarAll; got != want {
					t.Errorf("sample %v; want %v", got, want)
				}
				if got, want := len(r.Split), map[bool]int{true: 2, false: 1}[s.Name == DriftcarAll]; got != want {
					t.Errorf("%d arms; want %d", got, want)
				}
				logs := s.Name == DriftcarLogFile || s.Name == DriftcarLogDeadCE || s.Name == DriftcarLogDeadKfk
				if got := cfg.Log != nil && len(cfg.Log.Sinks) == 1; got != logs {
					t.Errorf("one log sink %v; want %v", got, logs)
				}
				if got, want := cfg.GroundTruth != nil, s.Name == DriftcarTruth; got != want {
					t.Errorf("ground truth %v; want %v", got, want)
				}
			})
		}
	}
	if _, err := driftcarConfig(Nginx, "", "", up, modelstub.V1, "", ""); err == nil {
		t.Error("a config for nginx; want an error")
	}
}
