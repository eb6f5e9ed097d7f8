package main

import (
	"os"
	"runtime/debug"
)

// defaultGCPercent is the heap growth (GOGC) layerlint runs with when the
// environment sets none. Go's default, 100, lets the heap reach twice what
// the last collection found live; analyzing a layer of a million paths
// goes through phases (the changeset and dive's tree, then the view) whose
// live heaps follow one another, so the peak is the garbage of one phase
// plus the live data of the next, about twice the live heap. At 50 the
// peak RSS of .ci/bench-memory drops by about a fifth, for more CPU in the
// collector (docs/performance.md, "Memory").
const defaultGCPercent = 50

// tuneGC applies defaultGCPercent unless GOGC is set: a user's setting
// wins. Only main calls it, so that tests run with Go's defaults.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
}
