//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package squash_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/layerlint/layerlint/squash"
)

// TestOutputModes: what fix writes follows the umask (0644 files, 0755
// folders under umask 022), so another user can read it; in place,
// index.json keeps its mode and owner.
func TestOutputModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	check := func(t *testing.T, root string) {
		t.Helper()
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			want := fs.FileMode(0o644)
			if d.IsDir() {
				want = 0o755
			}
			if p != root && fi.Mode().Perm() != want {
				t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Run("layout", func(t *testing.T) {
		r := fix(t, stack(t, wasteful()...), squash.Options{Mode: squash.SquashAll, BaseLayers: 1}, squash.Target{Kind: squash.OutputLayout})
		check(t, r.out)
	})
	t.Run("docker archive", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "img.tar")
		fix(t, stack(t, wasteful()...), squash.Options{Mode: squash.SquashAll, BaseLayers: 1}, squash.Target{Kind: squash.OutputDockerArchive, Path: out, Tags: []string{"app:1"}})
		check(t, out)
	})
	t.Run("in place keeps index.json's mode and owner", func(t *testing.T) {
		ref := stack(t, wasteful()...)
		idx := filepath.Join(ref, "index.json")
		if err := os.Chmod(idx, 0o640); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			if err := os.Chown(idx, 1234, 4321); err != nil {
				t.Fatal(err)
			}
		}
		fix(t, ref, squash.Options{Mode: squash.SquashAll, BaseLayers: 1}, squash.Target{Kind: squash.OutputInPlace, Path: ref})
		fi, err := os.Stat(idx)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o640 {
			t.Errorf("index.json mode %v, want 0640", fi.Mode().Perm())
		}
		if st := fi.Sys().(*syscall.Stat_t); os.Geteuid() == 0 && (st.Uid != 1234 || st.Gid != 4321) {
			t.Errorf("index.json owner %d:%d, want 1234:4321", st.Uid, st.Gid)
		}
	})
}
