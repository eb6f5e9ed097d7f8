package squash

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"syscall"
)

// ErrInjected is the error faultFS fails with.
var ErrInjected = errors.New("injected fault")

// faultFS is the real filesystem with one write operation made to fail:
// the failAt-th (counting from 1; 0 is never), and every file write once
// more than budget bytes were written (budget < 0: unlimited), as a full
// disk does, with ENOSPC. Operations are counted across goroutines.
type faultFS struct {
	inner   fsys
	mu      sync.Mutex
	ops     int
	failAt  int
	budget  int64
	written int64
}

func (f *faultFS) tick(op, path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops++
	if f.ops == f.failAt {
		return &fs.PathError{Op: op, Path: path, Err: fmt.Errorf("%w (operation %d)", ErrInjected, f.ops)}
	}
	return nil
}

func (f *faultFS) CreateTemp(dir, pattern string) (file, error) {
	if err := f.tick("createtemp", dir); err != nil {
		return nil, err
	}
	of, err := f.inner.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &faultFile{file: of, fs: f}, nil
}

func (f *faultFS) MkdirTemp(dir, pattern string) (string, error) {
	if err := f.tick("mkdirtemp", dir); err != nil {
		return "", err
	}
	return f.inner.MkdirTemp(dir, pattern)
}

func (f *faultFS) MkdirAll(name string, perm os.FileMode) error {
	if err := f.tick("mkdir", name); err != nil {
		return err
	}
	return f.inner.MkdirAll(name, perm)
}

func (f *faultFS) Rename(oldpath, newpath string) error {
	if err := f.tick("rename", newpath); err != nil {
		return err
	}
	return f.inner.Rename(oldpath, newpath)
}

func (f *faultFS) Link(oldname, newname string) error {
	if err := f.tick("link", newname); err != nil {
		return err
	}
	return f.inner.Link(oldname, newname)
}

func (f *faultFS) Remove(name string) error {
	if err := f.tick("remove", name); err != nil {
		return err
	}
	return f.inner.Remove(name)
}

func (f *faultFS) RemoveAll(name string) error {
	if err := f.tick("removeall", name); err != nil {
		return err
	}
	return f.inner.RemoveAll(name)
}

func (f *faultFS) SyncDir(dir string) error {
	if err := f.tick("syncdir", dir); err != nil {
		return err
	}
	return f.inner.SyncDir(dir)
}

type faultFile struct {
	file
	fs *faultFS
}

func (f *faultFile) Write(p []byte) (int, error) {
	if err := f.fs.tick("write", f.Name()); err != nil {
		return 0, err
	}
	f.fs.mu.Lock()
	room := int64(len(p))
	if f.fs.budget >= 0 {
		room = max(0, min(room, f.fs.budget-f.fs.written))
	}
	f.fs.written += room
	f.fs.mu.Unlock()
	n, err := f.file.Write(p[:room])
	if err == nil && n < len(p) {
		err = &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return n, err
}

func (f *faultFile) Sync() error {
	if err := f.fs.tick("sync", f.Name()); err != nil {
		return err
	}
	return f.file.Sync()
}

func (f *faultFile) Close() error {
	if err := f.fs.tick("close", f.Name()); err != nil {
		_ = f.file.Close() // the descriptor goes anyway, as close(2) does
		return err
	}
	return f.file.Close()
}

// WithFaults returns t writing through a faultFS failing its failAt-th
// operation, and with a byte budget (< 0: none); ops reports how many
// operations ran.
func WithFaults(t Target, failAt int, budget int64) (_ Target, ops func() int) {
	f := &faultFS{failAt: failAt, budget: budget}
	t.wrap = func(inner fsys) fsys { f.inner = inner; return f }
	return t, func() int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.ops
	}
}

// VerifyLayout runs the verification of a layout output that Fix ran
// without it, so that a test can tamper with what was written first.
func VerifyLayout(ctx context.Context, imgs []Image, out *Outcome, dir string, vo *VerifyOptions) error {
	return verifyAll(ctx, imgs, out, "oci:"+dir+"@"+out.Root.Digest.String(), vo, dir)
}
