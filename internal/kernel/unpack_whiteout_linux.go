package kernel

import (
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// lowerDir returns the attributes of the directory the lower view shows at
// p; ok is false when it shows none.
func (u *unpacker) lowerDir(p string) (attrs, bool, error) {
	if u.lower < 0 {
		return attrs{}, false, nil
	}
	dir, base := splitPath(p)
	lfd, err := openBeneath(u.lower, dir)
	if isNotFound(err) {
		return attrs{}, false, nil
	}
	if err != nil {
		return attrs{}, false, err
	}
	defer closeFD(lfd)
	var st unix.Stat_t
	if err := unix.Fstatat(lfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if isNotFound(err) {
			return attrs{}, false, nil
		}
		return attrs{}, false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return attrs{}, false, nil
	}
	x, err := listXattrs(procPath(lfd, base))
	if err != nil {
		return attrs{}, false, err
	}
	return attrs{mode: st.Mode & 0o7777, uid: int(st.Uid), gid: int(st.Gid), mtime: st.Mtim, xattrs: withoutOverlayXattrs(x)}, true, nil
}

// lowerExists reports whether the lower view has anything at p.
func (u *unpacker) lowerExists(p string) (bool, error) {
	if u.lower < 0 || p == "" {
		return false, nil
	}
	dir, base := splitPath(p)
	lfd, err := openBeneath(u.lower, dir)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer closeFD(lfd)
	var st unix.Stat_t
	err = unix.Fstatat(lfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// underMarker reports whether a proper ancestor of p has an opaque marker
// in this layer: step 1 removed whatever the lower layers had at p.
func (u *unpacker) underMarker(p string) bool {
	if p == "" {
		return false
	}
	if u.markerSet[""] {
		return true
	}
	for i := range len(p) {
		if p[i] == '/' && u.markerSet[p[:i]] {
			return true
		}
	}
	return false
}

// holdsMarker reports whether p is a marker directory or an ancestor of
// one: step 1 made it a directory of this layer.
func (u *unpacker) holdsMarker(p string) bool {
	for _, m := range u.markers {
		if m == p || strings.HasPrefix(m, p+"/") {
			return true
		}
	}
	return false
}

// inSetUpward reports whether p or one of its ancestors is in set.
func inSetUpward(set map[string]bool, p string, self bool) bool {
	if self && set[p] {
		return true
	}
	for i := range len(p) {
		if p[i] == '/' && set[p[:i]] {
			return true
		}
	}
	return false
}

// topmostIn returns the highest ancestor-or-self of p in set.
func topmostIn(set map[string]bool, p string) (string, bool) {
	for i := range len(p) {
		if p[i] == '/' && set[p[:i]] {
			return p[:i], true
		}
	}
	return p, set[p]
}

// effectiveWhiteouts runs step 2 of the semantics doc: the whiteouts, in
// tar order, of paths that exist after step 1 and that no earlier whiteout
// removed. The others hide nothing.
func (u *unpacker) effectiveWhiteouts() ([]string, map[string]bool, error) {
	var list []string
	set := map[string]bool{}
	for _, x := range u.whiteouts {
		if inSetUpward(set, x, true) {
			continue
		}
		exists := u.holdsMarker(x)
		if !exists && !u.underMarker(x) {
			var err error
			if exists, err = u.lowerExists(x); err != nil {
				return nil, nil, fmt.Errorf("looking up %s below: %w", x, err)
			}
		}
		if exists {
			set[x] = true
			list = append(list, x)
		}
	}
	return list, set, nil
}

// finish applies the layer's opaque markers and whiteouts so that the
// stack shows what steps 1 and 2 of the semantics doc, run before the
// entries, would leave.
func (u *unpacker) finish() error {
	eff, effSet, err := u.effectiveWhiteouts()
	if err != nil {
		return err
	}
	// Step 1: a marker directory, and the implicit parents step 1 gave
	// it, are directories of this layer unless step 2 removed them (then
	// only the parents above the whiteout stay) or an entry replaced them.
	if err := u.applyMarkers(effSet); err != nil {
		return err
	}

	// Directories the layer copied from below whose lower copy steps 1 and
	// 2 removed are new directories: defaults, and opaque.
	if err := u.resetRemovedDirs(effSet); err != nil {
		return err
	}

	// Step 2: whiteout devices where lower content must disappear and the
	// layer has nothing of its own. An opaque marker on the root is the
	// whiteout of every lower child of the root: overlayfs ignores the
	// opaque xattr on a layer's root.
	if err := u.whiteoutDevices(eff, effSet); err != nil {
		return err
	}

	// Opaque xattrs and directory mtimes last: every change above touched
	// the mtimes, and nothing below changes them.
	return u.walkDirs(func(pfd int, name, p string, n *unode) error {
		if n.hidesLower {
			if err := unix.Lsetxattr(procPath(pfd, name), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
				return fmt.Errorf("marking %s opaque: %w", p, err)
			}
			u.stats.Opaque++
		}
		if err := setMtime(pfd, name, n.mtime); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return nil
	})
}

// applyMarkers makes the directories of step 1: each marker directory,
// and the parents step 1 gave it, unless step 2 removed them or an entry
// replaced them.
func (u *unpacker) applyMarkers(effSet map[string]bool) error {
	for _, d := range u.markers {
		keep := d
		if top, ok := topmostIn(effSet, d); ok {
			keep, _ = splitPath(top)
		}
		if keep == "" || inSetUpward(u.nonDirs, keep, true) {
			continue
		}
		n, blocked, _ := u.lookup(keep)
		if blocked || (n != nil && n.kind != kindDir) {
			continue
		}
		if n == nil {
			fd, dn, err := u.ensureDir(keep)
			if err != nil {
				return fmt.Errorf("marker directory %s: %w", d, err)
			}
			closeFD(fd)
			n = dn
		}
		if keep == d {
			n.hidesLower = true
		}
	}
	return nil
}

// resetRemovedDirs turns the directories the layer copied from below,
// whose lower copy steps 1 and 2 removed, into new directories: defaults,
// and opaque.
func (u *unpacker) resetRemovedDirs(effSet map[string]bool) error {
	return u.walkDirs(func(pfd int, name, p string, n *unode) error {
		if !u.underMarker(p) && !inSetUpward(effSet, p, true) {
			return nil
		}
		n.hidesLower = true
		if n.origin != originLower {
			return nil
		}
		n.origin, n.mtime = originDefault, defaultDirAttrs().mtime
		if err := clearXattrs(procPath(pfd, name)); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := setAttrs(pfd, name, defaultDirAttrs(), false); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return nil
	})
}

// whiteoutDevices makes the whiteout devices of step 2 for the effective
// whiteouts eff (and effSet), and for every lower child of the root under
// an opaque marker on the root.
func (u *unpacker) whiteoutDevices(eff []string, effSet map[string]bool) error {
	if u.markerSet[""] && u.lower >= 0 {
		names, err := u.lowerRootNames()
		if err != nil {
			return err
		}
		for _, x := range names {
			if err := u.whiteoutDevice(x); err != nil {
				return err
			}
		}
	}
	for _, x := range eff {
		// An ancestor's whiteout or marker already hides it.
		if inSetUpward(effSet, x, false) || u.underMarker(x) {
			continue
		}
		if err := u.whiteoutDevice(x); err != nil {
			return err
		}
	}
	return nil
}

// whiteoutDevice hides the lower object at x unless the layer already
// does: its own content at x (a directory then turns opaque), a
// non-directory or opaque directory above x.
func (u *unpacker) whiteoutDevice(x string) error {
	n, blocked, hidden := u.lookup(x)
	if blocked || hidden {
		return nil
	}
	if n != nil {
		if n.kind == kindDir {
			n.hidesLower = true
		}
		return nil
	}
	ok, err := u.lowerExists(x)
	if err != nil {
		return fmt.Errorf("looking up %s below: %w", x, err)
	}
	if !ok {
		return nil // it only existed as a marker directory of this layer
	}
	if err := u.mkWhiteout(x); err != nil {
		return fmt.Errorf("whiteout %s: %w", x, err)
	}
	return nil
}

func (u *unpacker) mkWhiteout(x string) error {
	pfd, parent, err := u.parentOf(x)
	if err != nil {
		return err
	}
	defer closeFD(pfd)
	_, name := splitPath(x)
	if err := unix.Mknodat(pfd, name, unix.S_IFCHR, 0); err != nil {
		return err
	}
	parent.children[name] = &unode{kind: kindWhiteout}
	u.stats.Whiteouts++
	return nil
}

func (u *unpacker) lowerRootNames() ([]string, error) {
	fd, err := unix.Openat(u.lower, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer closeFD(fd)
	return readDirNames(fd)
}

// walkDirs calls fn for every directory of the layer (root excluded),
// parents first, with an O_PATH descriptor of its parent.
func (u *unpacker) walkDirs(fn func(pfd int, name, p string, n *unode) error) error {
	var walk func(fd int, dir string, d *unode) error
	walk = func(fd int, dir string, d *unode) error {
		for name, c := range d.children {
			if c.kind != kindDir {
				continue
			}
			p := path.Join(dir, name)
			if err := fn(fd, name, p, c); err != nil {
				return err
			}
			cfd, err := openat2Dir(fd, name)
			if err != nil {
				return fmt.Errorf("opening %s: %w", p, err)
			}
			err = walk(cfd, p, c)
			closeFD(cfd)
			if err != nil {
				return err
			}
		}
		return nil
	}
	return walk(u.root, "", u.tree)
}
