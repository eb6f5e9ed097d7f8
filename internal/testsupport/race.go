//go:build race

package testsupport

// RaceEnabled reports a build with the race detector, which makes more
// values escape to the heap: a test that counts bytes allocated skips that
// count then, as they are not the program's own.
const RaceEnabled = true
