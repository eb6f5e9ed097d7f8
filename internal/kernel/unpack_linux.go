package kernel

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

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

// parentOf makes the parent of p a directory of this layer and returns an
// O_PATH descriptor of it, which the caller closes.
func (u *unpacker) parentOf(p string) (int, *unode, error) {
	dir, _ := splitPath(p)
	return u.ensureDir(dir)
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
