//go:build !race

package groundtruth

const raceEnabled = false
