//go:build !race

package testsupport

// RaceEnabled: see race.go.
const RaceEnabled = false
