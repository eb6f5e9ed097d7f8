package squash_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/kernel"
	"github.com/layerlint/layerlint/internal/testenv"
	"github.com/layerlint/layerlint/overlay"
	"github.com/layerlint/layerlint/squash"
)

var (
	diffSeed   = flag.Uint64("squash.seed", 1, "first seed of TestSquashRandom")
	diffStacks = flag.Int("squash.stacks", 150, "number of random stacks TestSquashRandom squashes")
)

// openers returns the uncompressed layer streams of the first image of ref.
func openers(t *testing.T, ref string) []func() (io.ReadCloser, error) {
	t.Helper()
	src, err := source.Open(ref, source.Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	var out []func() (io.ReadCloser, error)
	for _, l := range src.Images()[0].Layers {
		out = append(out, func() (io.ReadCloser, error) { return l.Open(true) })
	}
	return out
}

// TestSquashRandom is the differential test: random layer stacks, a random
// range squashed, and the result held to the model of the input (Fix's
// own proof, link groups and mtimes included) and to the kernel: the
// overlayfs mount of the squashed image must show what the mount of the
// original shows, and so must the model of the squashed image.
func TestSquashRandom(t *testing.T) {
	t.Parallel()
	useKernel := kernel.Check() == nil
	if !useKernel {
		if testenv.Strict() {
			t.Fatalf("%s is set, so the kernel comparison must run: %v", testenv.StrictVar, kernel.Check())
		}
		t.Logf("kernel comparison skipped: %v (CI runs as root)", kernel.Check())
	}
	for seed := *diffSeed; seed < *diffSeed+uint64(*diffStacks); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel() // each seed has its own stack, folders and mounts
			rng := rand.New(rand.NewPCG(seed, 0))
			layers := fixtures.RandomStack(rng, fixtures.RandomOptions{})
			img := fixtures.NewImage()
			for _, l := range layers {
				img.Add(l)
			}
			ref := filepath.Join(t.TempDir(), "src")
			if _, err := img.WriteOCILayout(ref); err != nil {
				t.Fatal(err)
			}
			from := rng.IntN(len(layers))
			to := from + rng.IntN(len(layers)-from)
			opts := squash.Options{Mode: squash.SquashRanges, Ranges: []squash.Range{{From: from, To: to}}}
			if seed%5 == 0 {
				opts = squash.Options{Mode: squash.SquashAuto}
			}
			r := fix(t, ref, opts, squash.Target{Kind: squash.OutputLayout})
			if !useKernel {
				return
			}
			orig, err := kernel.MergedView(context.Background(), openers(t, ref), t.TempDir())
			if err != nil {
				t.Fatalf("kernel view of the original: %v", err)
			}
			sq, err := kernel.MergedView(context.Background(), openers(t, r.out), t.TempDir())
			if err != nil {
				t.Fatalf("kernel view of the squashed image: %v", err)
			}
			// The kernel materialises hard links across layers as copies,
			// so link groups are left out (docs/overlay-semantics.md).
			ko := overlay.CompareOptions{Xattrs: true, ModTime: true}
			if d := overlay.Compare(orig, sq, ko); len(d) > 0 {
				t.Errorf("kernel: squashed (%s) differs from original: %v", r.outcome.Results[0].Plan, d)
			}
			out := analyzeAll(t, r.out, "", 1)[0]
			if d := overlay.Compare(orig, out.Model.Files(), ko); len(d) > 0 {
				t.Errorf("model of squashed (%s) differs from kernel of original: %v", r.outcome.Results[0].Plan, d)
			}
		})
	}
}
