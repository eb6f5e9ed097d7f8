package safefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

const dirFlag = unix.O_DIRECTORY

// resolveFlags keep every lookup below the Dir, off symlinks (magic ones
// too) and on the Dir's own mount.
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// split returns the parent ("" for the Dir) and base of a cleaned name.
func split(c string) (dir, base string) {
	i := strings.LastIndexByte(c, '/')
	if i < 0 {
		return "", c
	}
	return c[:i], c[i+1:]
}

// Dir is an open directory; its methods act on names below it. A Dir is
// safe for concurrent use; Close it when done.
type Dir struct {
	path string
	fd   int // O_PATH|O_DIRECTORY
	dev  uint64
}

// Open opens the directory at path (resolved as the caller gave it: the
// caller names it) as the root of later operations. The last component
// must not be a symlink.
func Open(path string) (*Dir, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: symErr(err)}
	}
	return newDir(path, fd)
}

func newDir(path string, fd int) (*Dir, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		_ = unix.Close(fd)
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	return &Dir{path: path, fd: fd, dev: st.Dev}, nil
}

// Close lets go of the directory.
func (d *Dir) Close() error { return unix.Close(d.fd) }

// Ino returns the device and inode of the directory, which identify it
// while it is open.
func (d *Dir) Ino() (dev, ino uint64, err error) {
	var st unix.Stat_t
	if err := unix.Fstat(d.fd, &st); err != nil {
		return 0, 0, err
	}
	return st.Dev, st.Ino, nil
}

// symErr adds ErrSymlink to the errnos that a refused symlink or mount
// crossing gives, keeping the errno for errors.Is.
func symErr(err error) error {
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV) {
		return fmt.Errorf("%w (%w)", ErrSymlink, err)
	}
	return err
}

// openat2 opens c below dirfd without following symlinks; on kernels
// without openat2 it walks one O_NOFOLLOW component at a time and checks
// that each stays on the device dev.
func openat2(dirfd int, c string, flags int, mode uint32, dev uint64) (int, error) {
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW), Resolve: resolveFlags} //nolint:gosec // open flags are small positive ints
	if flags&(unix.O_CREAT|unix.O_TMPFILE) != 0 {
		how.Mode = uint64(mode)
	}
	for {
		fd, err := unix.Openat2(dirfd, c, how)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue // a rename elsewhere raced the lookup
		}
		if !errors.Is(err, unix.ENOSYS) {
			return fd, err
		}
		break
	}
	dir, base := split(c)
	cur, err := unix.Openat(dirfd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if dir != "" {
		for name := range strings.SplitSeq(dir, "/") {
			next, err := unix.Openat(cur, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			_ = unix.Close(cur)
			if err != nil {
				return -1, err
			}
			var st unix.Stat_t
			if err := unix.Fstat(next, &st); err != nil || st.Dev != dev {
				_ = unix.Close(next)
				return -1, unix.EXDEV
			}
			cur = next
		}
	}
	defer unix.Close(cur) //nolint:errcheck // a lookup handle
	fd, err := unix.Openat(cur, base, flags|unix.O_CLOEXEC|unix.O_NOFOLLOW, mode)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Dev != dev {
		_ = unix.Close(fd)
		return -1, unix.EXDEV
	}
	return fd, nil
}

// parent opens the parent directory of name and returns it with the base
// name; release closes it.
func (d *Dir) parent(op, name string) (pfd int, base string, release func(), err error) {
	c, err := clean(name)
	if err != nil {
		return -1, "", nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	if c == "" {
		return -1, "", nil, &fs.PathError{Op: op, Path: d.path, Err: errors.New("names the directory itself")}
	}
	dir, base := split(c)
	if dir == "" {
		return d.fd, base, func() {}, nil
	}
	fd, err := openat2(d.fd, dir, unix.O_PATH|unix.O_DIRECTORY, 0, d.dev)
	if err != nil {
		return -1, "", nil, &fs.PathError{Op: op, Path: d.full(c), Err: symErr(err)}
	}
	return fd, base, func() { _ = unix.Close(fd) }, nil
}

// OpenFile opens name with flag (O_NOFOLLOW is always added) and, when it
// creates the file, perm less the umask.
func (d *Dir) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	c, err := clean(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	target := c
	if target == "" {
		target = "."
	}
	fd, err := openat2(d.fd, target, flag, uint32(perm.Perm()), d.dev)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.full(c), Err: symErr(err)}
	}
	return os.NewFile(uintptr(fd), d.full(c)), nil
}

// OpenDir opens the directory name below d as a Dir of its own.
func (d *Dir) OpenDir(name string) (*Dir, error) {
	c, err := clean(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	target := c
	if target == "" {
		target = "."
	}
	fd, err := openat2(d.fd, target, unix.O_PATH|unix.O_DIRECTORY, 0, d.dev)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.full(c), Err: symErr(err)}
	}
	return newDir(d.full(c), fd)
}

// Lstat describes name without following it.
func (d *Dir) Lstat(name string) (fs.FileInfo, error) {
	pfd, base, release, err := d.parent("lstat", name)
	if err != nil {
		return nil, err
	}
	defer release()
	fd, err := unix.Openat(pfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: d.full(filepath.ToSlash(name)), Err: err}
	}
	f := os.NewFile(uintptr(fd), base)
	fi, err := f.Stat()
	return fi, errors.Join(err, f.Close())
}

// Mkdir makes the directory name with perm less the umask.
func (d *Dir) Mkdir(name string, perm fs.FileMode) error {
	pfd, base, release, err := d.parent("mkdir", name)
	if err != nil {
		return err
	}
	defer release()
	if err := unix.Mkdirat(pfd, base, uint32(perm.Perm())); err != nil {
		return &fs.PathError{Op: "mkdir", Path: d.full(name), Err: err}
	}
	return nil
}

// Rename renames oldname to newname, both below d; a symlink at newname is
// replaced, never followed.
func (d *Dir) Rename(oldname, newname string) error {
	return d.twoNames("rename", oldname, newname, unix.Renameat)
}

// Link makes newname a hard link to oldname (a symlink is linked as
// itself, not followed).
func (d *Dir) Link(oldname, newname string) error {
	return d.twoNames("link", oldname, newname, func(p1 int, b1 string, p2 int, b2 string) error {
		return unix.Linkat(p1, b1, p2, b2, 0)
	})
}

// twoNames runs the *at call of op on oldname and newname, each resolved
// to its parent directory below d.
func (d *Dir) twoNames(op, oldname, newname string, call func(p1 int, b1 string, p2 int, b2 string) error) error {
	p1, b1, r1, err := d.parent(op, oldname)
	if err != nil {
		return err
	}
	defer r1()
	p2, b2, r2, err := d.parent(op, newname)
	if err != nil {
		return err
	}
	defer r2()
	if err := call(p1, b1, p2, b2); err != nil {
		return &os.LinkError{Op: op, Old: d.full(oldname), New: d.full(newname), Err: err}
	}
	return nil
}

// Remove removes the file or empty directory name (a symlink itself, not
// its target).
func (d *Dir) Remove(name string) error {
	pfd, base, release, err := d.parent("remove", name)
	if err != nil {
		return err
	}
	defer release()
	err = unix.Unlinkat(pfd, base, 0)
	if errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EPERM) {
		if derr := unix.Unlinkat(pfd, base, unix.AT_REMOVEDIR); !errors.Is(derr, unix.ENOTDIR) {
			err = derr
		}
	}
	if err != nil {
		return &fs.PathError{Op: "remove", Path: d.full(name), Err: err}
	}
	return nil
}

// RemoveAll removes name and, for a directory, everything below it,
// following no symlink and refusing to descend into another mount. A
// missing name is not an error.
func (d *Dir) RemoveAll(name string) error {
	pfd, base, release, err := d.parent("removeall", name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer release()
	if err := removeAllAt(pfd, base, d.dev); err != nil {
		return &fs.PathError{Op: "removeall", Path: d.full(name), Err: symErr(err)}
	}
	return nil
}

func removeAllAt(dirfd int, name string, dev uint64) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := unix.Unlinkat(dirfd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return err
		}
		return nil
	}
	if st.Dev != dev {
		return unix.EXDEV // a mount point: not ours to empty
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	for {
		names, rerr := f.Readdirnames(256)
		for _, n := range names {
			if err := removeAllAt(fd, n, dev); err != nil {
				return errors.Join(err, f.Close())
			}
		}
		if rerr != nil {
			break // io.EOF, or an error that the final rmdir reports
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

// Stat describes the directory itself.
func (d *Dir) Stat() (fs.FileInfo, error) {
	fd, err := unix.Dup(d.fd)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: d.path, Err: err}
	}
	f := os.NewFile(uintptr(fd), d.path)
	fi, err := f.Stat()
	return fi, errors.Join(err, f.Close())
}
