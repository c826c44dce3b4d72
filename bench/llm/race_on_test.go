//go:build race

package llm

// raceEnabled: the race detector makes drift calibration take tens of
// seconds of CPU.
const raceEnabled = true
