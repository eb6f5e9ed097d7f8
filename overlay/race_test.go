//go:build race

package overlay

// raceEnabled: the race detector makes more values escape to the heap, so
// counts of bytes allocated are not the program's own.
const raceEnabled = true
