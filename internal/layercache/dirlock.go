package layercache

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"time"
)

var _ Locker = (*Dir)(nil)

// lockPrefix starts the name of an entry's lock file, next to the entry.
// Entry names never start with a dot, so a lock file is never taken for
// an entry (nor a temp file for a lock).
const lockPrefix = ".lock-"

// errNoFileLocks says the system has no advisory file locks: a Dir then
// does not lock, and processes sharing it may decode a layer twice.
var errNoFileLocks = errors.New("no file locks on this system")

func lockPath(name string) string { return path.Join(name[:2], lockPrefix+name) }

// Lock implements Locker with an advisory lock (flock) on a lock file per
// entry, with the same rules as the Redis lock: it returns when this
// process holds the lock (the release function drops it), when the
// entry appeared (another process decoded the layer), or when wait has
// passed (the caller decodes the layer itself). The kernel drops the lock
// of a process that dies, so a crashed holder never blocks the others
// beyond its death.
//
// Lock files stay after release: removing one while another process has
// it open would let two processes lock two different files of one name.
// Eviction removes the lock file of an evicted entry only while it holds
// that lock, and Lock checks after locking that its file is still the
// one the name leads to, so that race ends in a retry, not two holders.
func (d *Dir) Lock(ctx context.Context, name string, wait time.Duration) (func(), error) {
	p, err := entryPath(name)
	if err != nil {
		return func() {}, err
	}
	if err := d.root.Mkdir(name[:2], 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return func() {}, fmt.Errorf("creating cache folder %s: %w", name[:2], err)
	}
	lp := lockPath(name)
	deadline := time.Now().Add(wait)
	for {
		f, held, err := d.tryLock(lp)
		if errors.Is(err, errNoFileLocks) {
			return func() {}, nil
		}
		if err != nil {
			return func() {}, err
		}
		if held {
			return func() { _ = f.Close() }, nil // closing drops the lock; a failure to close cannot keep it
		}
		if _, err := d.root.Lstat(p); err == nil || time.Now().After(deadline) {
			return func() {}, nil
		}
		select {
		case <-ctx.Done():
			return func() {}, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// tryLock opens (creating it) the lock file lp and tries to lock it
// without waiting. held reports whether f is open and locked by this
// process; when it is not, f is nil.
func (d *Dir) tryLock(lp string) (f *os.File, held bool, err error) {
	f, err = d.root.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("opening lock file %s: %w", lp, err)
	}
	ok, err := flockNB(f)
	if err != nil || !ok {
		_ = f.Close() // read-only use; the lock error says more
		if err != nil {
			return nil, false, fmt.Errorf("locking %s: %w", lp, err)
		}
		return nil, false, nil
	}
	// Eviction may have removed the file between the open and the lock:
	// a lock on a file no name leads to guards nothing.
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, false, fmt.Errorf("locking %s: %w", lp, err)
	}
	cur, err := d.root.Lstat(lp)
	if err != nil || !os.SameFile(fi, cur) {
		_ = f.Close()
		return nil, false, nil
	}
	return f, true, nil
}

// removeLock removes the lock file of an evicted entry if no process
// holds it (best effort: a lock file left behind is a few bytes of
// directory, removed by a later eviction).
func (d *Dir) removeLock(name string) {
	lp := lockPath(name)
	if _, err := d.root.Lstat(lp); err != nil {
		return
	}
	f, held, err := d.tryLock(lp)
	if err != nil || !held {
		return
	}
	_ = d.root.Remove(lp)
	_ = f.Close()
}
