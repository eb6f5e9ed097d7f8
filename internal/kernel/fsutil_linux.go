package kernel

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// overlayXattrPrefix names the xattrs overlayfs reads from a layer; a layer
// tar must not smuggle them in, and copies never carry them.
const overlayXattrPrefix = "trusted.overlay."

// maxChunk bounds the length of one path handed to openat2: longer
// relative paths are opened a few components at a time, so that paths
// longer than PATH_MAX still work.
const maxChunk = 3072

// closeFD closes a descriptor that was only read or used for lookups:
// its close cannot lose data, so its error says nothing useful.
func closeFD(fd int) { _ = unix.Close(fd) }

// openBeneath opens the directory rel (slash-separated, cleaned, "" for
// dirfd itself) below dirfd without ever following a symlink or leaving
// dirfd. It returns an O_PATH descriptor the caller closes.
func openBeneath(dirfd int, rel string) (int, error) {
	fd, err := unix.Openat(dirfd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	for rel != "" {
		chunk := rel
		rel = ""
		if len(chunk) > maxChunk {
			i := strings.LastIndexByte(chunk[:maxChunk], '/')
			if i <= 0 {
				i = strings.IndexByte(chunk, '/')
			}
			if i > 0 {
				chunk, rel = chunk[:i], chunk[i+1:]
			}
		}
		next, err := openat2Dir(fd, chunk)
		closeFD(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

// openat2Dir opens the directory rel below dirfd with
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, falling back to one
// O_NOFOLLOW|O_DIRECTORY open per component on kernels without openat2.
func openat2Dir(dirfd int, rel string) (int, error) {
	fd, err := unix.Openat2(dirfd, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if !errors.Is(err, unix.ENOSYS) {
		return fd, err
	}
	cur, err := unix.Openat(dirfd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	for name := range strings.SplitSeq(rel, "/") {
		if name == "" || name == "." || name == ".." {
			closeFD(cur)
			return -1, unix.EXDEV // what RESOLVE_BENEATH reports for a climb
		}
		next, err := openChild(cur, name)
		closeFD(cur)
		if err != nil {
			return -1, err
		}
		cur = next
	}
	return cur, nil
}

// openChild opens the directory name (one component) in dirfd, refusing a
// symlink.
func openChild(dirfd int, name string) (int, error) {
	return unix.Openat(dirfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

// procPath names the object name in the directory dirfd through /proc, so
// that path-only syscalls (lsetxattr, llistxattr) act on it without
// resolving its parents again: the magic link pins the parent, and the l*
// variants do not follow name itself.
func procPath(dirfd int, name string) string {
	return "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + name
}

// splitPath splits a cleaned path into its parent ("" for the root) and
// base name.
func splitPath(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// listXattrs returns the extended attributes of the object at path, not
// following a final symlink.
func listXattrs(path string) (map[string]string, error) {
	size, err := unix.Llistxattr(path, nil)
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		return nil, err
	}
	if size == 0 {
		return nil, nil
	}
	buf := make([]byte, size)
	for {
		n, err := unix.Llistxattr(path, buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, len(buf)*2)
			continue
		}
		if err != nil {
			return nil, err
		}
		buf = buf[:n]
		break
	}
	var out map[string]string
	for name := range strings.SplitSeq(strings.TrimRight(string(buf), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		v, err := getXattr(path, name)
		if errors.Is(err, unix.ENODATA) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("reading xattr %s: %w", name, err)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = v
	}
	return out, nil
}

func getXattr(path, name string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(path, name, buf)
		if errors.Is(err, unix.ERANGE) {
			size, err := unix.Lgetxattr(path, name, nil)
			if err != nil {
				return "", err
			}
			buf = make([]byte, size+1)
			continue
		}
		if err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
}

// removeAllAt removes name (of any type, a directory with its subtree)
// from dirfd without following symlinks. A missing name is not an error.
func removeAllAt(dirfd int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.Unlinkat(dirfd, name, 0)
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	names, err := readDirNames(fd)
	if err != nil {
		closeFD(fd)
		return err
	}
	for _, n := range names {
		if err := removeAllAt(fd, n); err != nil {
			closeFD(fd)
			return err
		}
	}
	closeFD(fd)
	return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
}

// readDirNames lists the directory open at fd (not O_PATH). It leaves fd
// open.
func readDirNames(fd int) ([]string, error) {
	dup, err := unix.Dup(fd)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "dir")
	names, err := f.Readdirnames(-1)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return names, err
}

// isNotFound reports the errors a no-symlink lookup gives for a path that
// does not exist as asked: missing, a non-directory in the way, or a
// symlink that it refused to follow.
func isNotFound(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV)
}
