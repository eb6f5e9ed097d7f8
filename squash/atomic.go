package squash

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tempPrefix starts the name of every temp file and directory layerlint
// makes in a layout; nothing else there starts with it.
const tempPrefix = ".layerlint-"

// errCommitted marks a failure after the rename of writeFileAtomic: the
// new file is in place (its directory entry may not be durable yet).
var errCommitted = errors.New("the new file is in place")

// writeFileAtomic writes name in dir through a synced temp file and a
// rename, then syncs the directory: a crash leaves the old file or the new
// one, never a mix. An error after the rename wraps errCommitted. A file
// that was there keeps its mode and owner (index.json of a layout updated
// in place stays readable by whom it was); a new one gets 0666 less the
// umask.
func writeFileAtomic(fsys fsys, dir, name string, data []byte) error {
	dst := filepath.Join(dir, name)
	f, err := fsys.CreateTemp(dir, tempPrefix+name+"-*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	err = keepModeOwner(f, dst)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(f.Name(), dst)
	}
	if err != nil {
		rerr := fsys.Remove(f.Name())
		if errors.Is(rerr, fs.ErrNotExist) {
			rerr = nil
		}
		return errors.Join(fmt.Errorf("writing %s: %w", dst, err), rerr)
	}
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("writing %s: %w: %w", dst, errCommitted, err)
	}
	return nil
}

// modeOwner is what a temp file offers to take an old file's place.
type modeOwner interface {
	Chmod(mode os.FileMode) error
	Chown(uid, gid int) error
}

// keepModeOwner gives f the permission bits and owner of the regular file
// at old, if there is one.
func keepModeOwner(f file, old string) error {
	fi, err := os.Lstat(old)
	if err != nil || !fi.Mode().IsRegular() {
		return nil //nolint:nilerr // nothing to keep
	}
	mo, ok := f.(modeOwner)
	if !ok {
		return nil
	}
	if uid, gid, ok := fileOwner(fi); ok {
		if err := mo.Chown(uid, gid); err != nil && !errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("keeping the owner of %s: %w", old, err)
		}
	}
	if err := mo.Chmod(fi.Mode().Perm()); err != nil {
		return fmt.Errorf("keeping the mode of %s: %w", old, err)
	}
	return nil
}

// prepareOutput checks that dir can receive a new layout: absent, or an
// empty directory. layerlint never writes over something it did not make.
// It returns how to take the output back: remove dir if it made it, else
// empty it again.
func prepareOutput(fsys fsys, dir string) (undo func() error, err error) {
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("output %s is a symlink: name the folder it points to", dir)
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := fsys.MkdirAll(dir, 0o755); err != nil {
			return nil, errors.Join(fmt.Errorf("creating output %s: %w", dir, err), fsys.RemoveAll(dir))
		}
		return func() error { return fsys.RemoveAll(dir) }, nil
	case err != nil:
		return nil, fmt.Errorf("output %s: %w", dir, err)
	case len(entries) > 0:
		return nil, fmt.Errorf("output %s exists and is not empty: %w", dir, fs.ErrExist)
	}
	return func() error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		var errs []error
		for _, e := range entries {
			errs = append(errs, fsys.RemoveAll(filepath.Join(dir, e.Name())))
		}
		return errors.Join(errs...)
	}, nil
}

// removeAll removes a temp tree, trying twice: a cleanup that fails once
// (an interrupted call) should still not leave the tree behind.
func removeAll(fsys fsys, p string) error {
	if err := fsys.RemoveAll(p); err == nil {
		return nil
	}
	return fsys.RemoveAll(p)
}

// removeStale deletes what a killed run left in a layout: temp blobs, temp
// index files and verification stages, all named tempPrefix*. It runs
// under the layout's lock, so none of them belongs to a live run.
func removeStale(fsys fsys, dir string) error {
	var errs []error
	for _, d := range []string{dir, filepath.Join(dir, "blobs", "sha256")} {
		entries, err := os.ReadDir(d)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("cleaning %s: %w", d, err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), tempPrefix) {
				errs = append(errs, removeAll(fsys, filepath.Join(d, e.Name())))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing what an earlier run left in %s: %w", dir, err)
	}
	return nil
}
