package squash_test

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/internal/testenv"
	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/overlay"
	"github.com/layerlint/layerlint/squash"
)

// mountTmpfs mounts a tmpfs of size bytes for the test.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	testenv.NeedRoot(t)
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", unix.MS_NODEV|unix.MS_NOSUID, fmt.Sprintf("size=%d", size)); err != nil {
		testenv.Skip(t, "cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", mnt, err)
		}
	})
	return mnt
}

// TestFullDiskTmpfs fills a real disk at many points of a fix (squash,
// recompress, in place and to a new layout): each run that fails says
// "no space left on device" with the path, as ENOSPC and never as a
// malformed source layer, and leaves nothing behind.
func TestFullDiskTmpfs(t *testing.T) {
	// robustLayers with more noise kept: a squash then copies a big file
	// while the disk fills, inside the read of a source layer.
	layers := robustLayers(3)
	layers[2] = layers[2].File("noise-kept", noise(3, 600<<10))
	pristine := stack(t, layers...)
	want := testsupport.ReadTree(t, pristine)
	failed := 0
	for _, size := range []int64{4 << 10, 12 << 10, 40 << 10, 72 << 10, 160 << 10, 400 << 10, 700 << 10} {
		for _, kind := range []squash.OutputKind{squash.OutputLayout, squash.OutputInPlace} {
			for _, opts := range []squash.Options{
				{Mode: squash.SquashAll, BaseLayers: 1},
				{Mode: squash.SquashAll, BaseLayers: 1, Compression: squash.CompressionNone, ForceCompression: true},
				{BaseLayers: 1, Compression: squash.CompressionZstd, ForceCompression: true},
			} {
				name := fmt.Sprintf("%d/%s/%v/%v", size, kind, opts.Mode, opts.Compression)
				var src, out string
				if kind == squash.OutputInPlace {
					// The source fits, what fix adds beside it does not.
					mnt := mountTmpfs(t, size+int64(dirBytes(t, pristine)))
					src = filepath.Join(mnt, "src")
					testsupport.CopyTree(t, pristine, src)
					out = src
				} else {
					src = filepath.Join(t.TempDir(), "src")
					testsupport.CopyTree(t, pristine, src)
					out = filepath.Join(mountTmpfs(t, size), "out")
				}
				_, err := tryFix(t, src, "", opts, squash.Target{Kind: kind, Path: out})
				if err == nil {
					continue
				}
				failed++
				if !errors.Is(err, syscall.ENOSPC) || errors.Is(err, overlay.ErrBadTar) || errors.Is(err, source.ErrInvalid) {
					t.Errorf("%s: a full disk reported as something else: %v", name, err)
				}
				if !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), filepath.Dir(out)) {
					t.Errorf("%s: the error does not say where the disk is full: %v", name, err)
				}
				if d := testsupport.TreeDiff(want, testsupport.ReadTree(t, src)); len(d) > 0 {
					t.Errorf("%s: source changed: %v", name, d)
				}
				if l := testsupport.StrayFiles(t, filepath.Dir(out)); len(l) > 0 {
					t.Errorf("%s: left behind %v", name, l)
				}
			}
		}
	}
	if failed < 8 {
		t.Errorf("only %d runs hit the full disk", failed)
	}
}

func dirBytes(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	for _, b := range testsupport.ReadTree(t, dir) {
		n += (len(b) + 4095) &^ 4095
	}
	return n + 16<<10
}

// noise returns n random (incompressible) bytes.
func noise(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
