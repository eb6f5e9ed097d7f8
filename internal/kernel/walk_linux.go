package kernel

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/layerlint/layerlint/overlay"
)

// Walk lists the tree at root (typically a mounted merged view) the way
// the model lists its view: depth first, the children of a directory in
// byte order of their names, the root itself not listed. It never follows
// a symlink. Regular files are hashed with SHA-256 like
// overlay.ReadChangeset; only user.* xattrs are reported, since the others
// belong to the host (security.*) or to overlayfs. Layer is -1: the
// kernel does not say which layer provides a path; Link is 0.
func Walk(root string) ([]overlay.File, error) {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("walking %s: %w", root, err)
	}
	defer closeFD(fd)
	w := walker{h: sha256.New()}
	if err := w.dir(fd, ""); err != nil {
		return nil, fmt.Errorf("walking %s: %w", root, err)
	}
	return w.files, nil
}

type walker struct {
	files []overlay.File
	h     hash.Hash
}

func (w *walker) dir(fd int, prefix string) error {
	names, err := readDirNames(fd)
	if err != nil {
		return fmt.Errorf("listing %q: %w", prefix, err)
	}
	slices.Sort(names)
	for _, name := range names {
		p := path.Join(prefix, name)
		f, err := w.file(fd, name, p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		w.files = append(w.files, f)
		if f.Type != overlay.TypeDir {
			continue
		}
		cfd, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("opening %s: %w", p, err)
		}
		err = w.dir(cfd, p)
		closeFD(cfd)
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) file(dirfd int, name, p string) (overlay.File, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return overlay.File{}, err
	}
	f := overlay.File{
		Path:    p,
		Mode:    st.Mode & 0o7777,
		UID:     int(st.Uid),
		GID:     int(st.Gid),
		ModTime: st.Mtim.Sec,
		Layer:   -1,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		f.Type, f.Size = overlay.TypeRegular, st.Size
		h, err := w.hash(dirfd, name)
		if err != nil {
			return overlay.File{}, err
		}
		f.Hash = h
	case unix.S_IFDIR:
		f.Type = overlay.TypeDir
	case unix.S_IFLNK:
		f.Type = overlay.TypeSymlink
		target, err := readlinkAt(dirfd, name, st.Size)
		if err != nil {
			return overlay.File{}, err
		}
		f.Linkname = target
	case unix.S_IFCHR, unix.S_IFBLK:
		f.Type = overlay.TypeCharDevice
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			f.Type = overlay.TypeBlockDevice
		}
		f.Devmajor, f.Devminor = unix.Major(st.Rdev), unix.Minor(st.Rdev)
	case unix.S_IFIFO:
		f.Type = overlay.TypeFIFO
	default:
		return overlay.File{}, fmt.Errorf("unexpected file type %#o", st.Mode&unix.S_IFMT)
	}
	x, err := listXattrs(procPath(dirfd, name))
	if err != nil {
		return overlay.File{}, fmt.Errorf("listing xattrs: %w", err)
	}
	for k, v := range x {
		if !strings.HasPrefix(k, "user.") {
			continue
		}
		if f.Xattrs == nil {
			f.Xattrs = map[string]string{}
		}
		f.Xattrs[k] = v
	}
	return f, nil
}

func (w *walker) hash(dirfd int, name string) (overlay.Hash, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return overlay.Hash{}, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer func() { _ = f.Close() }() // read-only: nothing to lose
	w.h.Reset()
	if _, err := io.Copy(w.h, f); err != nil {
		return overlay.Hash{}, fmt.Errorf("reading: %w", err)
	}
	var sum overlay.Hash
	w.h.Sum(sum[:0])
	return sum, nil
}
