package kernel

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// clear removes whatever this layer holds at name in the parent.
func (u *unpacker) clear(pfd int, parent *unode, name string) error {
	n := parent.children[name]
	if n == nil {
		return nil
	}
	delete(parent.children, name)
	if n.kind == kindDir {
		return removeAllAt(pfd, name)
	}
	return unix.Unlinkat(pfd, name, 0)
}

func (u *unpacker) writeFile(p string, hdr *tar.Header, r io.Reader) error {
	pfd, parent, err := u.parentOf(p)
	if err != nil {
		return err
	}
	defer closeFD(pfd)
	_, name := splitPath(p)
	if err := u.clear(pfd, parent, name); err != nil {
		return err
	}
	fd, err := unix.Openat(pfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), p)
	n, err := io.Copy(f, r)
	u.stats.Bytes += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	u.placed(parent, name, p)
	return setAttrs(pfd, name, headerAttrs(hdr), false)
}

func (u *unpacker) writeDir(p string, hdr *tar.Header) error {
	pfd, parent, err := u.parentOf(p)
	if err != nil {
		return err
	}
	defer closeFD(pfd)
	_, name := splitPath(p)
	a := headerAttrs(hdr)
	if n := parent.children[name]; n != nil && n.kind == kindDir {
		// Directories merge: new attributes, children kept.
		if err := clearXattrs(procPath(pfd, name)); err != nil {
			return err
		}
		n.origin, n.fromEntry, n.mtime = originEntry, true, a.mtime
		return setAttrs(pfd, name, a, false)
	}
	// A non-directory of this layer at the path was itself a replacement
	// of whatever was below: the new directory must not merge with it.
	hides := parent.children[name] != nil
	if err := u.clear(pfd, parent, name); err != nil {
		return err
	}
	if err := unix.Mkdirat(pfd, name, 0o700); err != nil {
		return err
	}
	n := newDirNode(originEntry)
	n.fromEntry, n.hidesLower, n.mtime = true, hides, a.mtime
	parent.children[name] = n
	return setAttrs(pfd, name, a, false)
}

func (u *unpacker) writeSpecial(p string, hdr *tar.Header) error {
	pfd, parent, err := u.parentOf(p)
	if err != nil {
		return err
	}
	defer closeFD(pfd)
	_, name := splitPath(p)
	if err := u.clear(pfd, parent, name); err != nil {
		return err
	}
	dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))) //nolint:gosec // device numbers are 32-bit on Linux
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		err = unix.Symlinkat(hdr.Linkname, pfd, name)
	case tar.TypeChar:
		err = unix.Mknodat(pfd, name, unix.S_IFCHR|0o600, dev)
	case tar.TypeBlock:
		err = unix.Mknodat(pfd, name, unix.S_IFBLK|0o600, dev)
	default:
		err = unix.Mknodat(pfd, name, unix.S_IFIFO|0o600, 0)
	}
	if err != nil {
		return err
	}
	u.placed(parent, name, p)
	return setAttrs(pfd, name, headerAttrs(hdr), hdr.Typeflag == tar.TypeSymlink)
}

func copyContent(srcDir int, src string, dstDir int, dst string) error {
	sfd, err := unix.Openat(srcDir, src, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	sf := os.NewFile(uintptr(sfd), src)
	defer func() { _ = sf.Close() }() // read-only: nothing to lose
	dfd, err := unix.Openat(dstDir, dst, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	df := os.NewFile(uintptr(dfd), dst)
	_, err = io.Copy(df, sf)
	if cerr := df.Close(); err == nil {
		err = cerr
	}
	return err
}

func readlinkAt(dirfd int, name string, size int64) (string, error) {
	buf := make([]byte, max(size, 255)+1)
	for {
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, len(buf)*2)
	}
}

// ensureDir makes dir and its ancestors directories of this layer, as the
// implicit parents of the semantics doc: a directory already there is
// kept, a non-directory is replaced (never followed), a missing one is
// created copying the directory the lower layers show there (or with the
// defaults when none shows). It returns an O_PATH descriptor of dir.
func (u *unpacker) ensureDir(dir string) (int, *unode, error) {
	fd, err := unix.Dup(u.root)
	if err != nil {
		return -1, nil, err
	}
	n := u.tree
	if dir == "" {
		return fd, n, nil
	}
	hidden := false // no lower content can show below this point
	cur := ""
	for name := range strings.SplitSeq(dir, "/") {
		cur = path.Join(cur, name)
		c := n.children[name]
		switch {
		case c != nil && c.kind == kindDir:
		case c != nil:
			if err := unix.Unlinkat(fd, name, 0); err != nil {
				closeFD(fd)
				return -1, nil, err
			}
			// The replaced non-directory hid what was below.
			if c, err = u.mkdir(fd, name, cur, true); err == nil {
				c.hidesLower = true
			}
		default:
			c, err = u.mkdir(fd, name, cur, hidden)
		}
		if err != nil {
			closeFD(fd)
			return -1, nil, fmt.Errorf("making implicit directory %s: %w", cur, err)
		}
		n.children[name] = c
		hidden = hidden || c.hidesLower
		next, err := openat2Dir(fd, name)
		closeFD(fd)
		if err != nil {
			return -1, nil, fmt.Errorf("opening %s: %w", cur, err)
		}
		fd, n = next, c
	}
	return fd, n, nil
}

// mkdir creates an implicit directory at name in dirfd (the layer path p)
// with the attributes of the lower directory at p, unless hidden or there
// is none.
func (u *unpacker) mkdir(dirfd int, name, p string, hidden bool) (*unode, error) {
	a, ok := attrs{}, false
	if !hidden {
		var err error
		if a, ok, err = u.lowerDir(p); err != nil {
			return nil, err
		}
	}
	o := originLower
	if !ok {
		a, o = defaultDirAttrs(), originDefault
	}
	if err := unix.Mkdirat(dirfd, name, 0o700); err != nil {
		return nil, err
	}
	n := newDirNode(o)
	n.mtime = a.mtime
	return n, setAttrs(dirfd, name, a, false)
}
