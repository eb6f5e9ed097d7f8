//go:build !race

package overlay

// raceEnabled: see race_test.go.
const raceEnabled = false
