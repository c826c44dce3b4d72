package sidecar

import "time"

// featureWindows are the live windows /api/features shows, in slices.
var featureWindows = []int{5, 60}

func (s *Sidecar) featuresAPI() any {
	set := s.features.Current()
	if set == nil {
		return []any{}
	}
	return set.Views(featureWindows...)
}

func (s *Sidecar) referenceAPI() any {
	set := s.features.Current()
	if set == nil {
		return map[string]any{"configured": false}
	}
	if rows, want, ok := set.Learning(); ok {
		return map[string]any{"configured": true, "learning": true, "rows": rows, "samples": want}
	}
	return set.Profile()
}

func (s *Sidecar) driftAPI() any {
	m := s.currentMonitor()
	if m == nil {
		return map[string]any{"configured": false}
	}
	return m.View()
}

// TickDrift runs one drift evaluation at now (for tests with ManualTicks).
func (s *Sidecar) TickDrift(now time.Time) {
	if m := s.currentMonitor(); m != nil {
		m.Tick(now)
	}
}
