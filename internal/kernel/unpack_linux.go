package kernel

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/layerlint/layerlint/overlay"
)

// Unpack extracts one uncompressed layer tar into dir, an empty directory
// that becomes one lowerdir of an overlay mount. lower is the view of the
// layers below (zero for the bottom layer); Unpack only reads it.
//
// Entries are extracted in tar order; OCI whiteouts and opaque markers are
// collected and applied at the end as overlayfs whiteouts (character device
// 0/0) and opaque directories (trusted.overlay.opaque=y), arranged so that
// the stack shows what docs/overlay-semantics.md defines, where markers and
// whiteouts act before the entries. Nothing is written outside dir: no
// symlink is followed, parents are opened with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS) and objects created relative to them.
func Unpack(ctx context.Context, layer io.Reader, dir string, lower LowerView) (UnpackStats, error) {
	root, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return UnpackStats{}, fmt.Errorf("opening layer directory %s: %w", dir, err)
	}
	defer closeFD(root)
	u := &unpacker{root: root, lower: -1, tree: newDirNode(originEntry), markerSet: map[string]bool{}, nonDirs: map[string]bool{}}
	if lower.Root != "" {
		u.lower, err = unix.Open(lower.Root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return UnpackStats{}, fmt.Errorf("opening lower view %s: %w", lower.Root, err)
		}
		defer closeFD(u.lower)
	}
	tr := tar.NewReader(layer)
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return u.stats, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return u.stats, fmt.Errorf("%w: after %d entries: %w", overlay.ErrBadTar, n, err)
		}
		u.stats.Entries++
		if err := u.entry(hdr, tr); err != nil {
			return u.stats, fmt.Errorf("unpacking %q: %w", hdr.Name, err)
		}
	}
	if err := u.finish(); err != nil {
		return u.stats, fmt.Errorf("applying whiteouts in %s: %w", dir, err)
	}
	return u.stats, nil
}

type nodeKind uint8

const (
	kindDir nodeKind = iota + 1
	kindNonDir
	kindWhiteout
)

// origin says where the attributes of a directory of the layer come from.
type origin uint8

const (
	// originEntry: a tar entry described the directory.
	originEntry origin = iota + 1
	// originLower: an implicit parent that copies the directory the lower
	// layers show, so that overlayfs (which takes a merged directory's
	// attributes from its uppermost copy) shows the lower attributes.
	originLower
	// originDefault: an implicit parent with the default attributes.
	originDefault
)

// unode is one path that this layer's directory holds.
type unode struct {
	children map[string]*unode
	kind     nodeKind
	origin   origin
	// fromEntry marks an object written by an entry of the layer, which a
	// hard link of the same layer names directly (rule 1).
	fromEntry bool
	// hidesLower marks a directory through which no lower content may show:
	// it becomes opaque at the end of the layer.
	hidesLower bool
	// mtime of a directory, set when the layer is complete because creating
	// children changes it.
	mtime unix.Timespec
}

func newDirNode(o origin) *unode {
	return &unode{kind: kindDir, origin: o, children: map[string]*unode{}}
}

type unpacker struct {
	root  int // O_PATH descriptor of the layer directory
	lower int // O_PATH descriptor of the lower view, -1 for none
	tree  *unode
	// markers are the directories with an opaque marker, in tar order.
	markers   []string
	markerSet map[string]bool
	// whiteouts are the whited-out paths, in tar order.
	whiteouts []string
	// nonDirs holds every path where an entry wrote a non-directory: it
	// replaced whatever steps 1 and 2 left there, even if a later entry
	// made it a directory again.
	nonDirs map[string]bool
	stats   UnpackStats
	tmpSeq  int
}

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

func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		u.stats.Ignored++
		return nil
	}
	p, ok := overlay.CleanPath(hdr.Name)
	if !ok {
		return overlay.ErrUnsafePath
	}
	dir, base := splitPath(p)
	switch kind, target := overlay.ClassifyName(base); kind {
	case overlay.NamePlain:
	case overlay.NameOpaque:
		if !u.markerSet[dir] {
			u.markerSet[dir] = true
			u.markers = append(u.markers, dir)
		}
		return nil
	case overlay.NameAUFSMeta, overlay.NameBadWhiteout:
		u.stats.Ignored++
		return nil
	case overlay.NameWhiteout:
		u.whiteouts = append(u.whiteouts, path.Join(dir, target))
		return nil
	}
	if p == "" {
		u.stats.Ignored++ // the root's attributes are not part of the view
		return nil
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeRegA, tar.TypeCont, tar.TypeGNUSparse: //nolint:staticcheck // TypeRegA is still written by old tools
		return u.writeFile(p, hdr, r)
	case tar.TypeDir:
		return u.writeDir(p, hdr)
	case tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return u.writeSpecial(p, hdr)
	case tar.TypeLink:
		return u.hardlink(p, hdr)
	}
	u.stats.Ignored++
	return nil
}

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

// placed records the non-directory an entry wrote at p (name in parent).
func (u *unpacker) placed(parent *unode, name, p string) {
	parent.children[name] = &unode{kind: kindNonDir, fromEntry: true, hidesLower: true}
	u.nonDirs[p] = true
}

// tempName returns a name in the layer root that neither the layer nor the
// path p uses.
func (u *unpacker) tempName(p string) string {
	first, _, _ := strings.Cut(p, "/")
	for {
		u.tmpSeq++
		name := ".layerlint-link-" + strconv.Itoa(u.tmpSeq)
		if u.tree.children[name] == nil && name != first {
			return name
		}
	}
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

// parentOf makes the parent of p a directory of this layer and returns an
// O_PATH descriptor of it, which the caller closes.
func (u *unpacker) parentOf(p string) (int, *unode, error) {
	dir, _ := splitPath(p)
	return u.ensureDir(dir)
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

// lookup finds p in this layer; blocked reports a non-directory ancestor,
// hidden an ancestor through which no lower content shows.
func (u *unpacker) lookup(p string) (n *unode, blocked, hidden bool) {
	n = u.tree
	parts := strings.Split(p, "/")
	for i, name := range parts {
		c := n.children[name]
		if c == nil {
			return nil, false, hidden
		}
		if i == len(parts)-1 {
			return c, false, hidden
		}
		if c.kind != kindDir {
			return nil, true, hidden
		}
		hidden = hidden || c.hidesLower
		n = c
	}
	return nil, false, hidden
}

// finish applies the layer's opaque markers and whiteouts so that the
// stack shows what steps 1 and 2 of the semantics doc, run before the
// entries, would leave.
func (u *unpacker) finish() error {
	eff, effSet, err := u.effectiveWhiteouts()
	if err != nil {
		return err
	}
	removed := func(p string) bool { return u.underMarker(p) || inSetUpward(effSet, p, true) }

	// Step 1: a marker directory, and the implicit parents step 1 gave
	// it, are directories of this layer unless step 2 removed them (then
	// only the parents above the whiteout stay) or an entry replaced them.
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

	// Directories the layer copied from below whose lower copy steps 1 and
	// 2 removed are new directories: defaults, and opaque.
	err = u.walkDirs(func(pfd int, name, p string, n *unode) error {
		if !removed(p) {
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
	if err != nil {
		return err
	}

	// Step 2: whiteout devices where lower content must disappear and the
	// layer has nothing of its own. An opaque marker on the root is the
	// whiteout of every lower child of the root: overlayfs ignores the
	// opaque xattr on a layer's root.
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
