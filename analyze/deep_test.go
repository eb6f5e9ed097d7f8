package analyze_test

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
)

// TestDeepPathLinear: analysis work grows linearly with the depth of a
// path (caps raised), counted in bytes allocated, never in time: each
// level is a directory of the view, and neither the model, the report nor
// the dive metrics may spell out every level's full path.
func TestDeepPathLinear(t *testing.T) {
	cost := func(depth int) uint64 {
		deep := strings.Repeat("d/", depth)
		dir := t.TempDir()
		img := fixtures.NewImage().
			Add(fixtures.NewLayer().File(deep+"f", []byte("x"))).
			Add(fixtures.NewLayer().File(deep+"f", []byte("y")).File(deep+"g", nil)).
			Add(fixtures.NewLayer().Whiteout(deep + "g"))
		if _, err := img.WriteOCILayout(dir); err != nil {
			t.Fatal(err)
		}
		src := openOne(t, dir, source.Options{Verify: true})
		opts := analyze.Options{Verify: true, Parallel: 1, MaxPathBytes: 1 << 20, MaxPathDepth: 1 << 20}
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		if _, err := analyze.Analyze(context.Background(), src, opts); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&m1)
		return m1.TotalAlloc - m0.TotalAlloc
	}
	small, big := cost(2000), cost(8000)
	t.Logf("depth 2000: %d bytes, depth 8000: %d", small, big)
	if ratio := float64(big) / float64(small); ratio > 6 {
		t.Errorf("depth 2000: %d bytes allocated, depth 8000: %d (%.1f times; linear is 4, quadratic 16)", small, big, ratio)
	}
}
