//go:build !race

package testsupport

// RaceEnabled is false: this build has no race detector (see race.go).
const RaceEnabled = false
