package squash_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testenv"
	"github.com/layerlint/layerlint/squash"
)

// Issue 9, "writes and deletes outside what layerlint owns": fix writes
// only below the folders it was given, through a handle it holds, and
// follows no symlink planted there (by the image's builder, or by another
// user of a shared folder).

// precious makes a file outside every folder fix was given; the returned
// check fails the test if fix wrote, truncated or deleted it, or added
// anything beside it.
func precious(t *testing.T) (dir, file string, intact func()) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "victim")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(dir, "precious")
	if err := os.WriteFile(file, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, file, func() {
		t.Helper()
		if b, err := os.ReadFile(file); err != nil || string(b) != "precious" {
			t.Errorf("the file outside was changed: %q, %v", b, err)
		}
		if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 {
			t.Errorf("the folder outside was changed: %v, %v", entries, err)
		}
	}
}

func confinedLayers() []*fixtures.Layer {
	return []*fixtures.Layer{
		fixtures.NewLayer().File("a", []byte("a")),
		fixtures.NewLayer().File("b", bytesOf("b", 300)),
		fixtures.NewLayer().Whiteout("b"),
	}
}

var squashAll = squash.Options{Mode: squash.SquashAll, BaseLayers: 1}

// A symlink at LAYOUT/.layerlint.lock made root truncate and write the
// file it named.
func TestInPlaceLockSymlink(t *testing.T) {
	t.Parallel()
	ref := stack(t, confinedLayers()...)
	_, file, intact := precious(t)
	if err := os.Symlink(file, filepath.Join(ref, squash.LockName)); err != nil {
		t.Fatal(err)
	}
	_, err := tryFix(t, ref, "", squashAll, squash.Target{Kind: squash.OutputInPlace, Path: ref})
	if err == nil || !strings.Contains(err.Error(), squash.LockName) {
		t.Errorf("fix with a symlinked lock file: %v, want a refusal naming it", err)
	}
	intact()
}

// Symlinks planted at the names fix writes in a layout (the blobs it will
// add, index.json) are replaced by the rename, never written through.
func TestInPlacePlantedBlobLinks(t *testing.T) {
	t.Parallel()
	ref := stack(t, confinedLayers()...)
	// A first run to a new layout names the blobs the in-place run adds.
	probe := fix(t, ref, squashAll, squash.Target{Kind: squash.OutputLayout})
	entries, err := os.ReadDir(filepath.Join(probe.out, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	_, file, intact := precious(t)
	planted := 0
	for _, e := range entries {
		p := filepath.Join(ref, "blobs", "sha256", e.Name())
		if _, err := os.Lstat(p); err == nil {
			continue // an unchanged blob: the source has it already
		}
		if err := os.Symlink(file, p); err != nil {
			t.Fatal(err)
		}
		planted++
	}
	if planted == 0 {
		t.Fatal("no new blob to plant a link at")
	}
	_, _ = tryFix(t, ref, "", squashAll, squash.Target{Kind: squash.OutputInPlace, Path: ref})
	intact()
}

// An output whose folder (or the output itself) is a planted symlink is
// refused: the new layout or archive does not land in the folder the link
// names.
func TestOutputThroughSymlink(t *testing.T) {
	t.Parallel()
	for _, kind := range []squash.OutputKind{squash.OutputLayout, squash.OutputDockerArchive} {
		for _, where := range []string{"parent", "output"} {
			t.Run(kind.String()+"/"+where, func(t *testing.T) {
				ref := stack(t, confinedLayers()...)
				dir, _, intact := precious(t)
				base := t.TempDir()
				out := filepath.Join(base, "link", "out")
				link := filepath.Join(base, "link")
				if where == "output" {
					out = filepath.Join(base, "out")
					link = out
					if kind == squash.OutputLayout {
						// An empty folder, so that only the link can refuse it.
						dir = filepath.Join(t.TempDir(), "empty")
						if err := os.Mkdir(dir, 0o755); err != nil {
							t.Fatal(err)
						}
					}
				}
				if err := os.Symlink(dir, link); err != nil {
					t.Fatal(err)
				}
				target := squash.Target{Kind: kind, Path: out, Tags: []string{"example.com/x:1"}}
				_, err := tryFix(t, ref, "", squashAll, target)
				if kind == squash.OutputDockerArchive && where == "output" {
					// The archive replaces the link by a rename.
					if err != nil {
						t.Fatal(err)
					}
					if fi, err := os.Lstat(out); err != nil || !fi.Mode().IsRegular() {
						t.Errorf("archive over a link: %v, %v", fi, err)
					}
				} else if err == nil {
					t.Errorf("output %s through a symlink succeeded", out)
				}
				intact()
				if entries, err := os.ReadDir(dir); err != nil || (where == "output" && kind == squash.OutputLayout && len(entries) != 0) {
					t.Errorf("the folder the link names: %v, %v", entries, err)
				}
			})
		}
	}
}

// --output inside the source layout would change the source: refused.
func TestOutputInsideSource(t *testing.T) {
	t.Parallel()
	ref := stack(t, confinedLayers()...)
	for _, out := range []string{ref, filepath.Join(ref, "out"), filepath.Join(ref, "blobs", "x.tar")} {
		kind := squash.OutputLayout
		if strings.HasSuffix(out, ".tar") {
			kind = squash.OutputDockerArchive
		}
		_, err := tryFix(t, ref, "", squashAll, squash.Target{Kind: kind, Path: out, Tags: []string{"example.com/x:1"}})
		if !errors.Is(err, squash.ErrBadPlan) || !strings.Contains(err.Error(), "inside the source layout") {
			t.Errorf("--output %s: %v, want a refusal", out, err)
		}
	}
	if _, err := os.Stat(filepath.Join(ref, "out")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output inside the source: %v", err)
	}
}

// A symlink that another user planted higher up the output path (in a
// shared folder) is refused; root's own links are followed.
func TestOutputPathForeignLink(t *testing.T) {
	t.Parallel()
	testenv.NeedRoot(t)
	ref := stack(t, confinedLayers()...)
	dir, _, intact := precious(t)
	base := t.TempDir()
	link := filepath.Join(base, "build")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, 1234, 1234); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(link, "sub", "out")
	_, err := tryFix(t, ref, "", squashAll, squash.Target{Kind: squash.OutputLayout, Path: out})
	if !errors.Is(err, squash.ErrUntrustedLink) {
		t.Errorf("output through another user's link: %v, want ErrUntrustedLink", err)
	}
	intact()
	if err := os.Lchown(link, 0, 0); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(t.TempDir(), "own")
	if err := os.Symlink(t.TempDir(), own); err != nil {
		t.Fatal(err)
	}
	fix(t, ref, squashAll, squash.Target{Kind: squash.OutputLayout, Path: filepath.Join(own, "sub", "out")})
}
