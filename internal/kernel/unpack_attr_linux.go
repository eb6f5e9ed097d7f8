package kernel

import (
	"archive/tar"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// attrs are the metadata an entry sets on the object it creates.
type attrs struct {
	mode     uint32
	uid, gid int
	mtime    unix.Timespec
	xattrs   map[string]string
}

// defaultDirAttrs are those of a new implicit directory: 0755 root:root,
// mtime 0, no xattrs.
func defaultDirAttrs() attrs { return attrs{mode: 0o755} }

func headerAttrs(hdr *tar.Header) attrs {
	a := attrs{
		mode:  uint32(hdr.Mode) & 0o7777, //nolint:gosec // masked to permission bits
		uid:   clampID(hdr.Uid),
		gid:   clampID(hdr.Gid),
		mtime: timespec(hdr.ModTime),
	}
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok || strings.HasPrefix(name, overlayXattrPrefix) {
			continue
		}
		if a.xattrs == nil {
			a.xattrs = map[string]string{}
		}
		a.xattrs[name] = v
	}
	return a
}

// clampID keeps ids where the model keeps them: a negative id is 0.
func clampID(id int) int {
	if id < 0 {
		return 0
	}
	return id
}

func timespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{}
	}
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

func withoutOverlayXattrs(x map[string]string) map[string]string {
	for k := range x {
		if strings.HasPrefix(k, overlayXattrPrefix) {
			delete(x, k)
		}
	}
	if len(x) == 0 {
		return nil
	}
	return x
}

// setAttrs sets owner, mode, xattrs and (except on directories, whose
// mtime is set when the layer is complete) mtime of name in dirfd, never
// following a symlink.
func setAttrs(dirfd int, name string, a attrs, symlink bool) error {
	if err := unix.Fchownat(dirfd, name, a.uid, a.gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	// Not on symlinks: Linux has no symlink modes. After chown, which
	// clears setuid and setgid. The object was just created by this
	// process as a non-symlink, so following is not possible here.
	if !symlink {
		if err := unix.Fchmodat(dirfd, name, a.mode, 0); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	for k, v := range a.xattrs {
		err := unix.Lsetxattr(procPath(dirfd, name), k, []byte(v), 0)
		if err != nil && symlink && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTSUP)) {
			continue // user.* xattrs cannot be set on symlinks
		}
		if err != nil {
			return fmt.Errorf("setting xattr %s: %w", k, err)
		}
	}
	return setMtime(dirfd, name, a.mtime)
}

func setMtime(dirfd int, name string, mtime unix.Timespec) error {
	ts := []unix.Timespec{mtime, mtime}
	if err := unix.UtimesNanoAt(dirfd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting mtime: %w", err)
	}
	return nil
}

// clearXattrs removes the xattrs of path except overlayfs's own.
func clearXattrs(path string) error {
	x, err := listXattrs(path)
	if err != nil {
		return err
	}
	for k := range x {
		if strings.HasPrefix(k, overlayXattrPrefix) {
			continue
		}
		if err := unix.Lremovexattr(path, k); err != nil && !errors.Is(err, unix.ENODATA) {
			return fmt.Errorf("removing xattr %s: %w", k, err)
		}
	}
	return nil
}
