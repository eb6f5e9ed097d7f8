package squash_test

import (
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/klauspost/compress/gzip"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/squash"
)

// benchImage is LAYERLINT_BENCH_IMAGE (an OCI layout, see .ci/bench-fix),
// or a small generated one.
func benchImage(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("LAYERLINT_BENCH_IMAGE"); p != "" {
		return p
	}
	dir := filepath.Join(b.TempDir(), "img")
	if _, err := fixtures.Large(1, 4000, 40_000_000, 6).WriteOCILayout(dir); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkFlattenBaseline is what a squash tool without a model does:
// ggcr's mutate.Extract (a flattened tar, correct only from the bottom
// layer) gzipped into a file with its digest.
func BenchmarkFlattenBaseline(b *testing.B) {
	ref := benchImage(b)
	img, _ := testsupport.LayoutImage(b, ref)
	for b.Loop() {
		f, err := os.Create(filepath.Join(b.TempDir(), "layer.tar.gz"))
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		zw := gzip.NewWriter(io.MultiWriter(f, h))
		rc := mutate.Extract(img)
		n, err := io.Copy(zw, rc)
		if err != nil {
			b.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
		fi, _ := f.Stat()
		_ = rc.Close()
		_ = f.Close()
		b.ReportMetric(float64(n), "tar-bytes")
		b.ReportMetric(float64(fi.Size()), "blob-bytes")
	}
}

// BenchmarkSquashAll is layerlint's --squash all --base-layers 0: analyze
// (one pass, digests checked), plan, write the layout, without and with
// the verification pass.
func BenchmarkSquashAll(b *testing.B) {
	for _, verify := range []bool{false, true} {
		name := "no-verify"
		if verify {
			name = "verify"
		}
		b.Run(name, func(b *testing.B) {
			ref := benchImage(b)
			for b.Loop() {
				src, err := source.Open(ref, source.Options{Verify: true})
				if err != nil {
					b.Fatal(err)
				}
				a, err := analyze.Analyze(context.Background(), src.Images()[0], analyze.Options{Verify: true})
				if err != nil {
					b.Fatal(err)
				}
				opts := squash.Options{Mode: squash.SquashAll}
				p, err := squash.NewPlan(a, opts)
				if err != nil {
					b.Fatal(err)
				}
				var vo *squash.VerifyOptions
				if verify {
					vo = &squash.VerifyOptions{ModTime: true, RequireNoWaste: true}
				}
				o, err := squash.Fix(context.Background(), []squash.Image{{Analysis: a, Plan: p}}, opts, squash.Target{Kind: squash.OutputLayout, Path: filepath.Join(b.TempDir(), "out")}, vo)
				if err != nil || !o.OK() {
					b.Fatalf("fix: %v %+v", err, o)
				}
				b.ReportMetric(float64(o.Results[0].After.TarBytes), "tar-bytes")
				b.ReportMetric(float64(o.Results[0].After.CompressedBytes), "blob-bytes")
				_ = src.Close()
			}
		})
	}
}
