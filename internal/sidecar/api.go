package sidecar

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
