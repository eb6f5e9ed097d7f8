//go:build !linux

package safefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const dirFlag = 0

// Dir is an open directory; its methods act on names below it, through
// os.Root, which never leaves it. Close it when done.
type Dir struct {
	path string
	root *os.Root
}

// Open opens the directory at path (resolved as the caller gave it) as
// the root of later operations. The last component must not be a symlink.
func Open(path string) (*Dir, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &fs.PathError{Op: "open", Path: path, Err: ErrSymlink}
	}
	r, err := os.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	return &Dir{path: path, root: r}, nil
}

// Close lets go of the directory.
func (d *Dir) Close() error { return d.root.Close() }

// Ino returns the identity of the directory: here, zero (the caller
// compares os.SameFile instead where it can).
func (d *Dir) Ino() (dev, ino uint64, err error) { return 0, 0, nil }

func (d *Dir) name(op, name string) (string, error) {
	c, err := clean(name)
	if err != nil {
		return "", &fs.PathError{Op: op, Path: name, Err: err}
	}
	if c == "" {
		return ".", nil
	}
	return filepath.FromSlash(c), nil
}

// OpenFile opens name with flag (with O_NOFOLLOW where the system has it)
// and, when it creates the file, perm less the umask.
func (d *Dir) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	n, err := d.name("open", name)
	if err != nil {
		return nil, err
	}
	if fi, err := d.root.Lstat(n); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &fs.PathError{Op: "open", Path: d.full(n), Err: ErrSymlink}
	}
	return d.root.OpenFile(n, flag|noFollow, perm)
}

// OpenDir opens the directory name below d as a Dir of its own.
func (d *Dir) OpenDir(name string) (*Dir, error) {
	n, err := d.name("open", name)
	if err != nil {
		return nil, err
	}
	if fi, err := d.root.Lstat(n); err != nil {
		return nil, err
	} else if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &fs.PathError{Op: "open", Path: d.full(n), Err: ErrSymlink}
	}
	r, err := d.root.OpenRoot(n)
	if err != nil {
		return nil, err
	}
	return &Dir{path: d.full(n), root: r}, nil
}

// Lstat describes name without following it.
func (d *Dir) Lstat(name string) (fs.FileInfo, error) {
	n, err := d.name("lstat", name)
	if err != nil {
		return nil, err
	}
	return d.root.Lstat(n)
}

// Mkdir makes the directory name with perm less the umask.
func (d *Dir) Mkdir(name string, perm fs.FileMode) error {
	n, err := d.name("mkdir", name)
	if err != nil {
		return err
	}
	return d.root.Mkdir(n, perm)
}

// Rename renames oldname to newname, both below d.
func (d *Dir) Rename(oldname, newname string) error {
	return d.twoNames("rename", oldname, newname, d.root.Rename)
}

// Link makes newname a hard link to oldname.
func (d *Dir) Link(oldname, newname string) error {
	return d.twoNames("link", oldname, newname, d.root.Link)
}

// twoNames runs call of op on oldname and newname, each checked to stay
// below d.
func (d *Dir) twoNames(op, oldname, newname string, call func(o, n string) error) error {
	o, err := d.name(op, oldname)
	if err != nil {
		return err
	}
	n, err := d.name(op, newname)
	if err != nil {
		return err
	}
	return call(o, n)
}

// Remove removes the file or empty directory name.
func (d *Dir) Remove(name string) error {
	n, err := d.name("remove", name)
	if err != nil {
		return err
	}
	return d.root.Remove(n)
}

// RemoveAll removes name and everything below it; a missing name is not
// an error.
func (d *Dir) RemoveAll(name string) error {
	n, err := d.name("removeall", name)
	if err != nil {
		return err
	}
	if n == "." {
		return fmt.Errorf("removeall %s: %w", d.path, errors.New("names the directory itself"))
	}
	return d.root.RemoveAll(n)
}

// Stat describes the directory itself.
func (d *Dir) Stat() (fs.FileInfo, error) { return d.root.Stat(".") }
