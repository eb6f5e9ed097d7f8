package kernel

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/overlay"
)

// mountForTest mounts the layers at a fresh target and unmounts it when
// the test ends, so that a failing test leaks no mount.
func mountForTest(t *testing.T, opts MountOptions, layers ...[]ent) (target, work string) {
	t.Helper()
	base := t.TempDir()
	if opts.StateDir == "" {
		opts.StateDir = filepath.Join(base, "state")
	}
	target = filepath.Join(base, "root")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	work, err := DefaultWork(target)
	if err != nil {
		t.Fatal(err)
	}
	if err := Mount(context.Background(), openers(tarsOf(t, layers)), work, target, opts); err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() {
		if err := Unmount(target, opts.StateDir); err != nil && !errors.Is(err, ErrNotMounted) {
			t.Errorf("cleanup: %v", err)
		}
	})
	return target, work
}

func TestMountUnmount(t *testing.T) {
	needKernel(t)
	stateDir := filepath.Join(t.TempDir(), "state")
	target, work := mountForTest(t, MountOptions{StateDir: stateDir},
		[]ent{file("etc/conf", "v1"), file("gone", "g")},
		[]ent{file("etc/conf", "v2"), whiteout("gone")},
	)
	b, err := os.ReadFile(filepath.Join(target, "etc/conf"))
	if err != nil || string(b) != "v2" {
		t.Fatalf("etc/conf = %q, %v; want v2", b, err)
	}
	if _, err := os.Lstat(filepath.Join(target, "gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("gone: %v, want not found", err)
	}
	// Writable by default: writes land in the upper directory.
	if err := os.WriteFile(filepath.Join(target, "new"), []byte("n"), 0o644); err != nil {
		t.Fatalf("writing through the mount: %v", err)
	}
	if _, err := os.Stat(filepath.Join(work, "upper", "new")); err != nil {
		t.Errorf("upper: %v", err)
	}
	state := filepath.Join(stateDir, stateName(target))
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, %v", fi, err)
	}
	if fi, err := os.Stat(stateDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state folder: %v, %v", fi, err)
	}
	if err := Mount(context.Background(), nil, work, target, MountOptions{StateDir: stateDir}); err == nil {
		t.Error("second mount at the same target succeeded")
	}
	if err := Mount(context.Background(), openers(tarsOf(t, [][]ent{{file("x", "x")}})), work+"2", target, MountOptions{StateDir: stateDir}); !errors.Is(err, ErrAlreadyMounted) {
		t.Errorf("second mount: %v, want ErrAlreadyMounted", err)
	}

	if err := Unmount(target, stateDir); err != nil {
		t.Fatalf("unmount: %v", err)
	}
	for _, p := range []string{state, work, filepath.Join(target, "etc")} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after unmount: %v, want gone", p, err)
		}
	}
	if err := Unmount(target, stateDir); !errors.Is(err, ErrNotMounted) {
		t.Errorf("second unmount: %v, want ErrNotMounted", err)
	}
}

func TestMountReadOnly(t *testing.T) {
	needKernel(t)
	target, _ := mountForTest(t, MountOptions{ReadOnly: true}, []ent{file("a", "a")})
	err := os.WriteFile(filepath.Join(target, "b"), []byte("b"), 0o644)
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("writing to a read-only mount: %v", err)
	}
}

// ProbeCopyUp turns "1 byte appended to a big lower file" into the bytes
// the upper directory receives: the whole file.
func TestProbeCopyUp(t *testing.T) {
	needKernel(t)
	big := strings.Repeat("log line\n", 1<<17) // 1.1 MiB
	upper := filepath.Join(t.TempDir(), "upper")
	if err := os.Mkdir(upper, 0o755); err != nil {
		t.Fatal(err)
	}
	// The upper dir must share a filesystem with the work folder: both
	// are under the test's temporary directories.
	target, _ := mountForTest(t, MountOptions{Upper: upper},
		[]ent{file("var/log/big.log", big), file("small", "s")},
	)
	res, err := ProbeCopyUp(target, upper, []string{"var/log/big.log", "/small"})
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	if len(res) != 2 {
		t.Fatalf("got %d results", len(res))
	}
	r := res[0]
	if r.Path != "var/log/big.log" || r.Size != int64(len(big)) || r.UpperBytes != int64(len(big))+1 {
		t.Errorf("big.log: %+v, want the whole file copied up plus one byte", r)
	}
	if r.UpperAllocated < int64(len(big)) || r.Duration <= 0 {
		t.Errorf("big.log: allocated %d, took %v", r.UpperAllocated, r.Duration)
	}
	if res[1].UpperBytes != 2 {
		t.Errorf("small: %+v", res[1])
	}
	if _, err := ProbeCopyUp(target, upper, []string{"var"}); err == nil {
		t.Error("probing a directory succeeded")
	}
	if _, err := ProbeCopyUp(target, upper, []string{"../x"}); err == nil {
		t.Error("probing ../x succeeded")
	}
}

func TestCheck(t *testing.T) {
	err := Check()
	if os.Geteuid() != 0 && !errors.Is(err, ErrNotPermitted) {
		t.Errorf("Check as uid %d = %v, want ErrNotPermitted", os.Geteuid(), err)
	}
	if err != nil && !errors.Is(err, ErrNotPermitted) && !errors.Is(err, ErrNoOverlay) {
		t.Errorf("Check = %v, want nil or a sentinel", err)
	}
}

// A single layer is mounted over an empty directory, as overlayfs wants
// two lower directories without an upper one.
func TestSingleLayer(t *testing.T) {
	needKernel(t)
	v := checkAgainstModel(t, []ent{file("only", "o")})
	wantFile(t, v, "only", overlay.TypeRegular)
}
