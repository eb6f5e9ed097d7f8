package kernel

import (
	"archive/tar"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/layerlint/layerlint/overlay"
)

// hardlink resolves the link's target by the two rules of the semantics
// doc, puts the object at a temporary name of the layer root (a link(2) to
// an object of this layer, or a copy of a lower one), and then moves it to
// the link's path: the target must be taken before the link's own path is
// cleared, as that may remove the target.
func (u *unpacker) hardlink(p string, hdr *tar.Header) error {
	target, ok := overlay.CleanPath(hdr.Linkname)
	if !ok {
		return fmt.Errorf("%w: hard link to %q", overlay.ErrUnsafePath, hdr.Linkname)
	}
	tmp := u.tempName(p)
	res, err := u.linkTarget(target, p, tmp)
	if err != nil {
		return fmt.Errorf("hard link to %q: %w", target, err)
	}
	switch res {
	case linkNone:
		u.stats.SkippedLinks++
		return nil
	case linkSelf:
		return nil // a link to itself changes nothing
	case linkMade:
		u.stats.Links++
	case linkCopied:
		u.stats.CopiedLinks++
	}
	pfd, parent, err := u.parentOf(p)
	if err != nil {
		return errors.Join(err, unix.Unlinkat(u.root, tmp, 0))
	}
	defer closeFD(pfd)
	_, name := splitPath(p)
	if err := u.clear(pfd, parent, name); err != nil {
		return errors.Join(err, unix.Unlinkat(u.root, tmp, 0))
	}
	if err := unix.Renameat(u.root, tmp, pfd, name); err != nil {
		return errors.Join(err, unix.Unlinkat(u.root, tmp, 0))
	}
	u.placed(parent, name, p)
	return nil
}

type linkResult uint8

const (
	linkNone   linkResult = iota + 1 // target missing or a directory
	linkSelf                         // the link names its own path
	linkMade                         // link(2) to an object of this layer
	linkCopied                       // copy of a lower object
)

func (u *unpacker) linkTarget(target, p, tmp string) (linkResult, error) {
	if target == "" {
		return linkNone, nil // the root is a directory
	}
	// Rule 1: the current view of this layer.
	n := u.tree
	parts := strings.Split(target, "/")
	for i, name := range parts {
		c := n.children[name]
		if c == nil {
			break
		}
		if i < len(parts)-1 {
			if c.kind != kindDir {
				return linkNone, nil // an ancestor this layer made a non-directory
			}
			n = c
			continue
		}
		if !c.fromEntry {
			break // an implicit directory: rule 2
		}
		if c.kind == kindDir {
			return linkNone, nil
		}
		if target == p {
			return linkSelf, nil
		}
		dir, base := splitPath(target)
		tfd, err := openBeneath(u.root, dir)
		if err != nil {
			return 0, err
		}
		defer closeFD(tfd)
		if err := unix.Linkat(tfd, base, u.root, tmp, 0); err != nil {
			return 0, err
		}
		return linkMade, nil
	}
	// Rule 2: the lower layers as they were before this layer.
	return u.copyFromLower(target, tmp)
}

// copyFromLower copies the lower non-directory at target to tmp in the
// layer root: content, type and attributes, as overlayfs cannot link across
// layers.
func (u *unpacker) copyFromLower(target, tmp string) (linkResult, error) {
	if u.lower < 0 {
		return linkNone, nil
	}
	dir, base := splitPath(target)
	lfd, err := openBeneath(u.lower, dir)
	if isNotFound(err) {
		return linkNone, nil
	}
	if err != nil {
		return 0, err
	}
	defer closeFD(lfd)
	var st unix.Stat_t
	if err := unix.Fstatat(lfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if isNotFound(err) {
			return linkNone, nil
		}
		return 0, err
	}
	typ := st.Mode & unix.S_IFMT
	switch typ {
	case unix.S_IFREG:
		if err := copyContent(lfd, base, u.root, tmp); err != nil {
			return 0, err
		}
	case unix.S_IFLNK:
		dest, err := readlinkAt(lfd, base, st.Size)
		if err != nil {
			return 0, err
		}
		if err := unix.Symlinkat(dest, u.root, tmp); err != nil {
			return 0, err
		}
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		if err := unix.Mknodat(u.root, tmp, typ|0o600, int(st.Rdev)); err != nil { //nolint:gosec // dev_t fits
			return 0, err
		}
	default:
		return linkNone, nil // a directory, or a socket no layer can hold
	}
	x, err := listXattrs(procPath(lfd, base))
	if err != nil {
		return 0, errors.Join(err, unix.Unlinkat(u.root, tmp, 0))
	}
	a := attrs{mode: st.Mode & 0o7777, uid: int(st.Uid), gid: int(st.Gid), mtime: st.Mtim, xattrs: withoutOverlayXattrs(x)}
	if err := setAttrs(u.root, tmp, a, typ == unix.S_IFLNK); err != nil {
		return 0, errors.Join(err, unix.Unlinkat(u.root, tmp, 0))
	}
	return linkCopied, nil
}
