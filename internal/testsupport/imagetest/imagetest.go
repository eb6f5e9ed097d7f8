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

// Open opens the image at ref, verifying digests, and returns the one
// image it holds.
func Open(tb testing.TB, ref string) *source.Image {
	tb.Helper()
	src, err := source.Open(ref, source.Options{Verify: true})
	if err != nil {
		tb.Fatalf("opening %s: %v", ref, err)
	}
	tb.Cleanup(func() { _ = src.Close() })
	imgs := src.Images()
	if len(imgs) != 1 {
		tb.Fatalf("%s: %d images, want 1", ref, len(imgs))
	}
	return imgs[0]
}

// AnalyzeWith analyzes the one image at ref with opts, verifying digests
// as the CLI does.
func AnalyzeWith(tb testing.TB, ref string, opts analyze.Options) *analyze.Analysis {
	tb.Helper()
	opts.Verify = true
	a, err := analyze.Analyze(context.Background(), Open(tb, ref), opts)
	if err != nil {
		tb.Fatalf("analyzing %s: %v", ref, err)
	}
	return a
}

// Analyze analyzes the one image at ref as the CLI does and names it name
// in the report.
func Analyze(tb testing.TB, ref, name string) *analyze.Analysis {
	tb.Helper()
	a := AnalyzeWith(tb, ref, analyze.Options{})
	a.Report.Image.Reference = name
	return a
}

// Layout writes img to a temporary OCI layout and returns its directory.
func Layout(tb testing.TB, img *fixtures.Image) string {
	tb.Helper()
	dir := tb.TempDir()
	if _, err := img.WriteOCILayout(dir); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// AnalyzeFixture writes img to a temporary OCI layout and analyzes it with
// Analyze.
func AnalyzeFixture(tb testing.TB, img *fixtures.Image, name string) *analyze.Analysis {
	tb.Helper()
	return Analyze(tb, Layout(tb, img), name)
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

// SampleIndex writes an index of fixtures.Sample for two platforms (the
// sample's own and arm64) to a temporary OCI layout and returns its
// directory.
func SampleIndex(tb testing.TB) string {
	tb.Helper()
	arm := fixtures.Sample()
	arm.Platform.Architecture = "arm64"
	dir := tb.TempDir()
	if _, err := fixtures.NewIndex(fixtures.Sample(), arm).WriteOCILayout(dir); err != nil {
		tb.Fatal(err)
	}
	return dir
}
