package kernel

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/overlay"
)

// imageLayers reads the uncompressed layer tars of the only image at ref.
func imageLayers(t *testing.T, ref string) [][]byte {
	t.Helper()
	src, err := source.Open(ref, source.Options{Verify: true})
	if err != nil {
		t.Fatalf("opening %s: %v", ref, err)
	}
	defer src.Close() //nolint:errcheck // read-only
	var tars [][]byte
	for _, l := range src.Images()[0].Layers {
		s, err := l.Open(true)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(s)
		if err != nil {
			t.Fatalf("layer %d: %v", l.Index, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		tars = append(tars, b)
	}
	return tars
}

func requireSameView(t *testing.T, name string, tars [][]byte) {
	t.Helper()
	got, err := MergedView(context.Background(), openers(tars), t.TempDir())
	if err != nil {
		t.Fatalf("%s: kernel: %v", name, err)
	}
	want := modelView(t, tars)
	if d := overlay.Compare(want, got, compareOpts); len(d) > 0 {
		t.Errorf("%s: model (want) and kernel (got) disagree:\n%s", name, formatDiffs(d))
	}
	if len(got) == 0 {
		t.Errorf("%s: empty view", name)
	}
}

// TestFixtureImagesKernelVsModel runs the differential test on every image
// the fixtures package writes, and on dive's test images when present.
func TestFixtureImagesKernelVsModel(t *testing.T) {
	needKernel(t)
	dir := t.TempDir()
	images := map[string]*fixtures.Image{
		"sample": fixtures.Sample(),
		"large":  fixtures.Large(7, 2000, 4<<20, 5),
	}
	for name, img := range images {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			if _, err := img.WriteOCILayout(p); err != nil {
				t.Fatal(err)
			}
			requireSameView(t, name, imageLayers(t, p))
		})
	}
	for _, name := range []string{"test-docker-image.tar", "test-oci-gzip-image.tar"} {
		p, ok := testsupport.DiveData(name)
		if !ok {
			t.Logf("skipping %s: shared dive-data not beside the repository", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			requireSameView(t, name, imageLayers(t, p))
		})
	}
}

// TestFixtureRandomStacksKernelVsModel is a second, independent generator
// for the differential test: fixtures.RandomStack (every feature on).
func TestFixtureRandomStacksKernelVsModel(t *testing.T) {
	needKernel(t)
	n := 100
	if testing.Short() {
		n = 20
	}
	for seed := range uint64(n) {
		layers := fixtures.RandomStack(rand.New(rand.NewPCG(seed, 99)), fixtures.RandomOptions{})
		var tars [][]byte
		for i, l := range layers {
			b := l.Tar()
			if err := l.Err(); err != nil {
				t.Fatalf("seed %d layer %d: %v", seed, i, err)
			}
			tars = append(tars, b)
		}
		got, err := MergedView(context.Background(), openers(tars), t.TempDir())
		if err != nil {
			t.Fatalf("seed %d: kernel: %v", seed, err)
		}
		if d := overlay.Compare(modelView(t, tars), got, compareOpts); len(d) > 0 {
			var stack bytes.Buffer
			for i, b := range tars {
				cs, _ := overlay.ReadChangeset(bytes.NewReader(b), overlay.ReadOptions{})
				fmt.Fprintf(&stack, "layer %d:\n", i)
				for _, e := range cs.All() {
					stack.WriteString("  " + e.Kind.String() + " " + e.Path + " " + e.Linkname + "\n")
				}
			}
			t.Errorf("seed %d: model (want) and kernel (got) disagree:\n%s\n%s", seed, formatDiffs(d), stack.String())
		}
	}
}
