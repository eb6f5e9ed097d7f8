package analyze_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
)

// TestMemoryPerPath counts what analyzing one layer of many empty files
// (the image .ci/bench-memory measures, smaller) costs per path of the
// merged view: the bytes the analysis allocates in all, and the live heap
// of its result. They are counts, never times, against budgets about 20%
// above what was measured, so that a change that makes analyze keep or
// churn more per path fails here before the peak RSS of the benchmark
// (docs/performance.md, "Memory") moves.
func TestMemoryPerPath(t *testing.T) {
	files := 30_000
	if testing.Short() {
		files = 10_000
	}
	// Measured on 30,000 files (10,000 with -short): 867 (949) bytes
	// allocated a path, the tar reader's headers about half of it; 156
	// live in the result, the view's nodes, versions, names and maps.
	const allocBudget, liveBudget = 1100, 190
	dir := t.TempDir()
	if _, err := fixtures.Large(1, files, 0, 1).WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	img := openOne(t, dir, source.Options{Verify: true})

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	a, err := analyze.Analyze(context.Background(), img, analyze.Options{Verify: true, DropChangesets: true})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	runtime.GC()
	runtime.ReadMemStats(&after)
	live := after.HeapAlloc - min(before.HeapAlloc, after.HeapAlloc)

	paths := uint64(a.Report.Summary.MergedEntries)
	if paths < uint64(files) {
		t.Fatalf("%d paths in the view, want at least %d", paths, files)
	}
	t.Logf("%d paths: %d bytes allocated and %d live a path", paths, allocated/paths, live/paths)
	if !testsupport.RaceEnabled && allocated/paths > allocBudget {
		t.Errorf("analyze allocated %d bytes a path, more than %d", allocated/paths, allocBudget)
	}
	if live/paths > liveBudget {
		t.Errorf("the analysis keeps %d bytes a path, more than %d", live/paths, liveBudget)
	}
	runtime.KeepAlive(a)
}
