// Package imagetest analyzes images for the tests of the packages that
// render analyses (formats, reports, diffs). It is apart from testsupport
// because it imports analyze, and the tests of analyze's own packages use
// testsupport.
package imagetest

import (
	"context"
	"testing"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
)

// Analyze opens the image at ref and analyzes the first image it holds,
// verifying digests as the CLI does, and names it name in the report.
func Analyze(tb testing.TB, ref, name string) *analyze.Analysis {
	tb.Helper()
	src, err := source.Open(ref, source.Options{Verify: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = src.Close() })
	a, err := analyze.Analyze(context.Background(), src.Images()[0], analyze.Options{Verify: true})
	if err != nil {
		tb.Fatal(err)
	}
	a.Report.Image.Reference = name
	return a
}

// AnalyzeFixture writes img to a temporary OCI layout and analyzes it with
// Analyze.
func AnalyzeFixture(tb testing.TB, img *fixtures.Image, name string) *analyze.Analysis {
	tb.Helper()
	dir := tb.TempDir()
	if _, err := img.WriteOCILayout(dir); err != nil {
		tb.Fatal(err)
	}
	return Analyze(tb, dir, name)
}

// CorruptSample writes fixtures.Sample to a temporary OCI layout whose
// blob of layer layer no longer matches its digest (its size still does),
// and returns the layout's directory.
func CorruptSample(tb testing.TB, layer int) string {
	tb.Helper()
	dir := tb.TempDir()
	w, err := fixtures.Sample().WriteOCILayout(dir)
	if err != nil {
		tb.Fatal(err)
	}
	if err := testsupport.CorruptBlob(dir, w.Layers[layer].Digest); err != nil {
		tb.Fatal(err)
	}
	return dir
}
