package squash_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/squash"
)

// TestInPlaceLocked: while another process holds the layout's lock, an
// in-place fix fails at once with ErrLocked and changes nothing; once the
// lock is free it runs, and removes the lock file when done.
func TestInPlaceLocked(t *testing.T) {
	ref := stack(t, robustLayers(3)...)
	before := testsupport.ReadTree(t, ref)
	f, err := os.OpenFile(filepath.Join(ref, squash.LockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	opts := squash.Options{Mode: squash.SquashAll, BaseLayers: 1}
	_, err = tryFix(t, ref, "", opts, squash.Target{Kind: squash.OutputInPlace, Path: ref})
	if !errors.Is(err, squash.ErrLocked) || !strings.Contains(err.Error(), "another layerlint fix --in-place is running") {
		t.Fatalf("want ErrLocked, got %v", err)
	}
	after := testsupport.ReadTree(t, ref)
	delete(after, squash.LockName)
	if d := testsupport.TreeDiff(before, after); len(d) > 0 {
		t.Errorf("a locked-out run changed %v", d)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tryFix(t, ref, "", opts, squash.Target{Kind: squash.OutputInPlace, Path: ref}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(ref, squash.LockName)); !os.IsNotExist(err) {
		t.Errorf("lock file left: %v", err)
	}
}
