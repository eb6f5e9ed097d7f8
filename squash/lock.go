package squash

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/layerlint/layerlint/internal/safefs"
)

// ErrLocked is returned when another layerlint is changing the same OCI
// layout in place.
var ErrLocked = errors.New("layout is locked by another layerlint")

// LockName is the lock file an in-place fix holds in the layout directory
// while it writes. It is removed when the fix ends; one left by a killed
// run holds no lock and is reused.
const LockName = ".layerlint.lock"

// lockLayout takes the exclusive lock of the layout at dir, or fails at
// once with ErrLocked: an in-place fix does not wait for another one,
// whose result it would then rewrite from a stale analysis.
//
// The lock file is opened through the layout's handle without following a
// symlink: a link planted at LockName would otherwise make root truncate
// and write the file it points to.
func lockLayout(root *safefs.Dir) (unlock func() error, err error) {
	dir := root.Path()
	p := filepath.Join(dir, LockName)
	// A holder removes the file before it lets go of the lock, so a lock
	// won on a file that is no longer at p is stale: try again.
	for range 8 {
		f, err := root.OpenFile(LockName, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("locking %s: %w", p, err)
		}
		if err := flock(f); err != nil {
			holder := make([]byte, 32)
			n, _ := f.ReadAt(holder, 0) // best effort, for the message
			holder = holder[:n]
			cerr := f.Close()
			if errors.Is(err, errWouldBlock) {
				who := ""
				if pid := strings.TrimSpace(string(holder)); pid != "" {
					who = " (pid " + pid + ")"
				}
				return nil, errors.Join(fmt.Errorf("%s: another layerlint fix --in-place is running on it%s; wait for it to end (lock %s): %w", dir, who, p, ErrLocked), cerr)
			}
			return nil, errors.Join(fmt.Errorf("locking %s: %w", p, err), cerr)
		}
		fi, err1 := f.Stat()
		pi, err2 := root.Lstat(LockName)
		if err1 == nil && err2 == nil && os.SameFile(fi, pi) {
			if err := f.Truncate(0); err == nil {
				_, _ = f.WriteString(strconv.Itoa(os.Getpid()) + "\n") // informative only
			}
			return func() error {
				rerr := root.Remove(LockName)
				if errors.Is(rerr, fs.ErrNotExist) {
					rerr = nil
				}
				return errors.Join(rerr, f.Close()) // Close lets go of the lock
			}, nil
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		if err2 != nil && !errors.Is(err2, fs.ErrNotExist) {
			return nil, fmt.Errorf("locking %s: %w", p, err2)
		}
	}
	return nil, fmt.Errorf("locking %s: the lock file keeps changing: %w", p, ErrLocked)
}
