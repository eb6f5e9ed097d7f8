package squash

import (
	"fmt"
	"io"
	"os"
)

// fsys is every filesystem call that writes: the output of Fix goes
// through it and nothing else, so that tests can fail any one of them
// (faultFS) and check what is left behind. Reads go straight to the OS.
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

// osFS is the real filesystem.
type osFS struct{}

var _ fsys = osFS{}

func (osFS) CreateTemp(dir, pattern string) (file, error) { return os.CreateTemp(dir, pattern) }
func (osFS) MkdirTemp(dir, pattern string) (string, error) {
	return os.MkdirTemp(dir, pattern)
}
func (osFS) MkdirAll(name string, perm os.FileMode) error { return os.MkdirAll(name, perm) }
func (osFS) Rename(oldpath, newpath string) error         { return os.Rename(oldpath, newpath) }
func (osFS) Link(oldname, newname string) error           { return os.Link(oldname, newname) }
func (osFS) Remove(name string) error                     { return os.Remove(name) }
func (osFS) RemoveAll(name string) error                  { return os.RemoveAll(name) }

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// fsOf returns the filesystem a target writes through.
func fsOf(t Target) fsys {
	if t.fs != nil {
		return t.fs
	}
	return osFS{}
}
