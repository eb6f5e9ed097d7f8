package squash

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/layerlint/layerlint/internal/safefs"
)

// fsys is every filesystem call that writes: the output of Fix goes
// through it and nothing else, so that tests can fail any one of them
// (faultFS) and check what is left behind. Reads go straight to the OS.
// Names are paths as the target spells them (its directory joined with
// names inside it).
type fsys interface {
	CreateTemp(dir, pattern string) (file, error)
	MkdirTemp(dir, pattern string) (string, error)
	MkdirAll(name string, perm os.FileMode) error
	Rename(oldpath, newpath string) error
	Link(oldname, newname string) error
	Remove(name string) error
	RemoveAll(name string) error
	// SyncDir makes the renames and creations inside dir durable.
	SyncDir(dir string) error
}

// file is a temp file being written.
type file interface {
	io.Writer
	Name() string
	Sync() error
	Close() error
}

// dirFS is the real filesystem, confined to one directory that it holds
// open: every name must lie below it, and no symlink is followed on the
// way (safefs). A layout, an output folder or the folder of an archive is
// attacker-writable in the worst case (a layout built by a pull request,
// a shared /tmp): a planted link then fails the write instead of turning
// root's write into one elsewhere.
type dirFS struct {
	d *safefs.Dir
}

var _ fsys = dirFS{}

// openFS opens the directory root for a target's writes, wrapped for
// tests by wrap (nil: none).
func openFS(root string, wrap func(fsys) fsys) (fsys, func() error, error) {
	d, err := safefs.Open(root)
	if err != nil {
		return nil, nil, fmt.Errorf("opening %s: %w", root, err)
	}
	var f fsys = dirFS{d: d}
	if wrap != nil {
		f = wrap(f)
	}
	return f, d.Close, nil
}

func (f dirFS) rel(op, name string) (string, error) {
	r, err := safefs.Rel(f.d.Path(), name)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", op, name, err)
	}
	return r, nil
}

func (f dirFS) CreateTemp(dir, pattern string) (file, error) {
	r, err := f.rel("createtemp", dir)
	if err != nil {
		return nil, err
	}
	// 0666 less the umask, as any new file: what is renamed into place
	// (blobs, index.json, an archive) is for others to read too.
	of, err := f.d.CreateTempPerm(r, pattern, 0o666)
	if err != nil {
		return nil, err
	}
	return of, nil
}

func (f dirFS) MkdirTemp(dir, pattern string) (string, error) {
	r, err := f.rel("mkdirtemp", dir)
	if err != nil {
		return "", err
	}
	n, err := f.d.MkdirTemp(r, pattern)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(n)), nil
}

func (f dirFS) MkdirAll(name string, perm os.FileMode) error {
	r, err := f.rel("mkdir", name)
	if err != nil {
		return err
	}
	return f.d.MkdirAll(r, perm)
}

func (f dirFS) Rename(oldpath, newpath string) error {
	o, err := f.rel("rename", oldpath)
	if err != nil {
		return err
	}
	n, err := f.rel("rename", newpath)
	if err != nil {
		return err
	}
	return f.d.Rename(o, n)
}

func (f dirFS) Link(oldname, newname string) error {
	o, err := f.rel("link", oldname)
	if err != nil {
		return err
	}
	n, err := f.rel("link", newname)
	if err != nil {
		return err
	}
	return f.d.Link(o, n)
}

func (f dirFS) Remove(name string) error {
	r, err := f.rel("remove", name)
	if err != nil {
		return err
	}
	return f.d.Remove(r)
}

func (f dirFS) RemoveAll(name string) error {
	r, err := f.rel("removeall", name)
	if err != nil {
		return err
	}
	if r == "" {
		return fmt.Errorf("removeall %s: %w", name, errors.New("refusing to remove the directory held open"))
	}
	return f.d.RemoveAll(r)
}

func (f dirFS) SyncDir(dir string) error {
	r, err := f.rel("syncdir", dir)
	if err != nil {
		return err
	}
	if err := f.d.SyncDir(r); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
