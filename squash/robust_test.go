package squash_test

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/overlay"
	"github.com/layerlint/layerlint/squash"
)

// robustLayers: a base, a layer of random (incompressible) bytes hidden
// later, a kept layer and a whiteout, so that a squash writes a new layer,
// copies kept ones and writes config, manifest and index.
func robustLayers(seed uint64) []*fixtures.Layer {
	r := rand.New(rand.NewPCG(seed, 1))
	noise := make([]byte, 64<<10)
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	return []*fixtures.Layer{
		fixtures.NewLayer().Dir("usr").File("usr/base", []byte("base")),
		fixtures.NewLayer().Dir("tmp").File("tmp/noise", noise).File("app", bytesOf("a", 3000)),
		fixtures.NewLayer().File("kept", bytesOf("k", 500)),
		fixtures.NewLayer().Whiteout("tmp"),
	}
}

// TestFaultInjection fails every write operation of a fix in turn (the
// K-th, for K = 1, 2, … until the fix succeeds) and requires: the source
// byte-identical and still valid, no output and no temp file left, a
// clean rerun; or, for a failure after index.json was renamed into place,
// the new image complete and valid.
func TestFaultInjection(t *testing.T) {
	pristine := stack(t, robustLayers(1)...)
	want := testsupport.ReadTree(t, pristine)
	opts := squash.Options{Mode: squash.SquashAll, BaseLayers: 1}
	const limit = 2000
	for _, kind := range []squash.OutputKind{squash.OutputInPlace, squash.OutputLayout, squash.OutputDockerArchive} {
		t.Run(kind.String(), func(t *testing.T) {
			injected := 0
			for k := 1; ; k++ {
				if k > limit {
					t.Fatalf("still failing after %d injections", limit)
				}
				work := t.TempDir()
				src := filepath.Join(work, "src")
				testsupport.CopyTree(t, pristine, src)
				target := squash.Target{Kind: kind, Path: src}
				switch kind {
				case squash.OutputLayout:
					target.Path = filepath.Join(work, "out")
				case squash.OutputDockerArchive:
					target.Path, target.Tags = filepath.Join(work, "out.tar"), []string{"app:fixed"}
				case squash.OutputNone, squash.OutputInPlace, squash.OutputRegistry, squash.OutputEngine:
				}
				ft, ops := squash.WithFaults(target, k, -1)
				_, err := tryFix(t, src, "", opts, ft)
				if err == nil {
					if ops() < k {
						t.Logf("%s: %d operations, each failed once, all safe", kind, injected)
						checkValid(t, src, "v1")
						checkAfter(t, kind, target.Path)
						return
					}
					// The failed operation was retried (removing a temp
					// tree): the fix is complete and clean.
					if l := testsupport.StrayFiles(t, work); len(l) > 0 {
						t.Fatalf("K=%d: absorbed fault left %v", k, l)
					}
					checkAfter(t, kind, target.Path)
					continue
				}
				injected++
				if !errors.Is(err, squash.ErrInjected) {
					t.Fatalf("K=%d: error does not wrap the fault: %v", k, err)
				}
				got := testsupport.ReadTree(t, src)
				if d := testsupport.TreeDiff(want, got); len(d) > 0 {
					// Only a failure after index.json's rename leaves a
					// change: the new image, complete.
					if kind != squash.OutputInPlace || !strings.Contains(err.Error(), "in place") {
						t.Fatalf("K=%d (%v): source changed: %v", k, err, d)
					}
				}
				if l := testsupport.StrayFiles(t, work); len(l) > 0 {
					t.Fatalf("K=%d (%v): left behind %v", k, err, l)
				}
				checkValid(t, src, "v1")
				if kind != squash.OutputInPlace {
					if _, serr := os.Stat(target.Path); !errors.Is(serr, fs.ErrNotExist) {
						t.Fatalf("K=%d (%v): output %s exists after a failure", k, err, target.Path)
					}
				}
				// A rerun succeeds.
				if k%7 == 1 {
					if _, err := tryFix(t, src, "", opts, target); err != nil {
						t.Fatalf("K=%d: rerun: %v", k, err)
					}
					checkAfter(t, kind, target.Path)
				}
			}
		})
	}
}

// TestFullDiskBudget: a disk that fills after N bytes, for N across the
// size of the output; nothing is left behind.
func TestFullDiskBudget(t *testing.T) {
	pristine := stack(t, robustLayers(2)...)
	want := testsupport.ReadTree(t, pristine)
	opts := squash.Options{Mode: squash.SquashAll, BaseLayers: 1}
	failed := 0
	for _, budget := range []int64{0, 100, 1000, 30000, 70000, 75000, 80000} {
		for _, kind := range []squash.OutputKind{squash.OutputInPlace, squash.OutputLayout} {
			work := t.TempDir()
			src := filepath.Join(work, "src")
			testsupport.CopyTree(t, pristine, src)
			target := squash.Target{Kind: kind, Path: src}
			if kind == squash.OutputLayout {
				target.Path = filepath.Join(work, "out")
			}
			ft, _ := squash.WithFaults(target, 0, budget)
			_, err := tryFix(t, src, "", opts, ft)
			if err == nil {
				continue
			}
			failed++
			if !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), work) {
				t.Errorf("budget %d, %s: error should name the path and ENOSPC: %v", budget, kind, err)
			}
			// A full disk is the machine's state, not a fault of the image.
			if !errors.Is(err, syscall.ENOSPC) || errors.Is(err, overlay.ErrBadTar) || errors.Is(err, source.ErrInvalid) {
				t.Errorf("budget %d, %s: a full disk reported as bad input: %v", budget, kind, err)
			}
			if d := testsupport.TreeDiff(want, testsupport.ReadTree(t, src)); len(d) > 0 {
				t.Errorf("budget %d, %s: source changed: %v", budget, kind, d)
			}
			if l := testsupport.StrayFiles(t, work); len(l) > 0 {
				t.Errorf("budget %d, %s: left behind %v", budget, kind, l)
			}
		}
	}
	if failed < 6 {
		t.Errorf("only %d runs hit the full disk", failed)
	}
}

// checkValid opens and analyzes the layout with every digest checked.
func checkValid(t *testing.T, dir, tag string) {
	t.Helper()
	ref := "oci:" + dir
	if tag != "" {
		ref += ":" + tag
	}
	analyzeAll(t, ref, "all", 1)
}

func checkAfter(t *testing.T, kind squash.OutputKind, p string) {
	t.Helper()
	switch kind {
	case squash.OutputInPlace:
		checkValid(t, p, "v1")
	case squash.OutputLayout:
		checkValid(t, p, "")
	case squash.OutputDockerArchive:
		analyzeAll(t, "docker-archive:"+p, "all", 1)
	case squash.OutputNone, squash.OutputRegistry, squash.OutputEngine:
	}
}

// TestOutputKeepsOtherPlatforms: --output with one platform selected of an
// index writes the index again with only that manifest replaced: the
// other platforms (and their blobs), the index annotations and the order
// are kept.
func TestOutputKeepsOtherPlatforms(t *testing.T) {
	mk := func(arch string) *fixtures.Image {
		img := fixtures.NewImage()
		img.Platform.Architecture = arch
		return img.Add(fixtures.NewLayer().File("a", []byte(arch))).Add(fixtures.NewLayer().File("big", bytesOf(arch, 500))).Add(fixtures.NewLayer().Whiteout("big"))
	}
	ix := fixtures.NewIndex(mk("amd64"), mk("arm64"), mk("s390x"))
	ix.Annotations = map[string]string{"org.example.index": "kept"}
	ref := filepath.Join(t.TempDir(), "src")
	if _, err := ix.WriteOCILayout(ref); err != nil {
		t.Fatal(err)
	}
	before := analyzeAll(t, ref, "all", 1)
	r, err := tryFix(t, ref, "linux/arm64", squash.Options{Mode: squash.SquashAuto, BaseLayers: 1}, squash.Target{Kind: squash.OutputLayout})
	if err != nil || !r.outcome.OK() {
		t.Fatalf("%v %+v", err, r)
	}
	after := analyzeAll(t, "oci:"+r.out, "all", 1)
	if len(after) != 3 {
		t.Fatalf("%d images in the output, want 3", len(after))
	}
	for i, a := range after {
		b := before[i]
		if a.Image.Platform.Architecture != b.Image.Platform.Architecture {
			t.Errorf("image %d: %s, want %s (order)", i, a.Image.Platform.Architecture, b.Image.Platform.Architecture)
		}
		if a.Image.IndexAnnotations["org.example.index"] != "kept" {
			t.Errorf("image %d: index annotations %v", i, a.Image.IndexAnnotations)
		}
		fixed := b.Image.Platform.Architecture == "arm64"
		if (a.Image.ManifestDigest == b.Image.ManifestDigest) == fixed {
			t.Errorf("%s: manifest %s, was %s", b.Image.Platform.Architecture, a.Image.ManifestDigest, b.Image.ManifestDigest)
		}
		if fixed != (a.Report.Summary.WastedBytes == 0) {
			t.Errorf("%s: %d bytes wasted", b.Image.Platform.Architecture, a.Report.Summary.WastedBytes)
		}
	}
}
