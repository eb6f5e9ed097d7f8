package overlay

import (
	"cmp"
	"errors"
	"maps"
	"slices"
	"strings"
)

// Model is the merged view of the layers applied so far, and the waste they
// left behind. The zero value is not usable; call NewModel.
//
// Applying a layer costs time proportional to its entries plus the subtrees
// it removes; lower layers are never re-stacked. A Model is not safe for
// concurrent use.
type Model struct {
	root      *node
	layers    int
	waste     []Waste
	anomalies []Anomaly
	// pending holds versions whose last name went during the layer being
	// applied. They become waste when the layer ends unless a hard link of
	// the same layer named them again (see docs/overlay-semantics.md).
	pending []pendingWaste
}

// node is one path of the merged view. It is kept small: the model holds one
// per path of the image.
type node struct {
	name     string
	parent   *node
	children map[string]*node // directories only
	ver      *version         // regular files only; shared by hard links
	linkname string
	xattrs   map[string]string
	mtime    int64
	mode     uint32
	uid, gid uint32
	devmajor uint32
	devminor uint32
	layer    int32
	typ      Type
	// implicit marks a directory that no entry of its layer described: it
	// was created to hold a child.
	implicit bool
}

// version is the content written by one regular-file entry.
type version struct {
	origin *node // the node the entry created; its path names the version
	size   int64
	hash   Hash
	layer  int32
	refs   int32 // names of the current view that show this version
	entry  int   // Entry.Index of the entry in its layer's tar
}

type pendingWaste struct {
	ver   *version
	cause Cause
	by    string
	same  bool
}

// LayerStats counts what one layer did to the view below it.
type LayerStats struct {
	// Added counts paths that did not exist below (implicit directories
	// included); Modified, entries for paths that lower layers provided;
	// Deleted, lower paths removed by whiteouts, opaque markers or type
	// changes (every path of a removed subtree counts).
	Added, Modified, Deleted int
	// ContentBytes is the sum of the layer's regular-file sizes.
	ContentBytes int64
}

// NewModel returns an empty view: a root directory and no layers.
func NewModel() *Model {
	return &Model{root: &node{typ: TypeDir, mode: 0o755, children: map[string]*node{}, layer: -1}}
}

// Layers returns how many layers were applied.
func (m *Model) Layers() int { return m.layers }

// Apply stacks one layer's changeset on the view. Its layer index is the
// number of layers applied before it.
func (m *Model) Apply(cs *Changeset) LayerStats {
	a := applier{m: m, layer: int32(m.layers)} //nolint:gosec // layer counts are small
	a.stats.ContentBytes = cs.ContentBytes
	for _, an := range cs.Anomalies {
		an.Layer = m.layers
		m.anomalies = append(m.anomalies, an)
	}
	a.run(cs.Entries)
	m.flushPending(int(a.layer))
	m.layers++
	return a.stats
}

type applier struct {
	m     *Model
	layer int32
	stats LayerStats
	// before holds, for each hard-link target of this layer, the object the
	// lower layers showed at that path before this layer's opaque markers
	// and whiteouts ran.
	before map[string]*node
}

func (a *applier) run(entries []Entry) {
	for _, e := range entries {
		if e.Kind == EntryHardlink {
			if _, seen := a.before[e.Linkname]; seen {
				continue
			}
			if a.before == nil {
				a.before = map[string]*node{}
			}
			n := a.m.lookup(e.Linkname)
			if n != nil && n.typ == TypeDir {
				n = nil
			}
			a.before[e.Linkname] = n
		}
	}
	// Steps 1 and 2: opaque markers, shallowest first, then whiteouts. They
	// run before any entry so that they can only act on lower layers,
	// whatever the tar order (image-spec layer.md). Markers go shallowest
	// first because a marker makes its directory part of this layer, which
	// a marker higher up must not remove again.
	var markers []string
	for _, e := range entries {
		if e.Kind == EntryOpaque {
			markers = append(markers, e.Path)
		}
	}
	slices.SortStableFunc(markers, func(x, y string) int {
		return cmp.Compare(depth(x), depth(y))
	})
	for _, d := range markers {
		a.opaque(d)
	}
	for _, e := range entries {
		if e.Kind == EntryWhiteout {
			a.whiteout(e.Path)
		}
	}
	// Step 3: entries in tar order.
	for i := range entries {
		a.entry(&entries[i])
	}
}

func (a *applier) anomaly(kind AnomalyKind, p, detail string) {
	a.m.anomalies = append(a.m.anomalies, Anomaly{Layer: int(a.layer), Path: p, Kind: kind, Detail: detail})
}

func (a *applier) opaque(dir string) {
	d := a.m.lookup(dir)
	if d == nil || d.typ != TypeDir {
		// The marker lives in a directory of this layer, so the directory
		// exists here whatever was below.
		a.dirAt(dir)
		if d == nil {
			a.anomaly(AnomalyOpaqueHidesNothing, dir, "opaque marker in a directory that no lower layer has")
		}
		return
	}
	if len(d.children) == 0 {
		a.anomaly(AnomalyOpaqueHidesNothing, dir, "opaque marker in an empty directory")
		return
	}
	for _, name := range slices.Sorted(maps.Keys(d.children)) {
		c := d.children[name]
		a.countDeleted(c)
		a.remove(c, CauseOpaque, dir, false)
	}
}

func (a *applier) whiteout(p string) {
	n := a.m.lookup(p)
	if n == nil {
		a.anomaly(AnomalyWhiteoutHidesNothing, p, "whiteout of a path that no lower layer has")
		return
	}
	a.countDeleted(n)
	a.remove(n, CauseDeleted, p, false)
}

// countDeleted counts a lower path removed by a whiteout or opaque marker;
// remove counts the subtree below it.
func (a *applier) countDeleted(n *node) {
	if n.layer < a.layer {
		a.stats.Deleted++
	}
}

// remove detaches n and its subtree from the view. cause applies to n and,
// for deletions and opaque markers, to its descendants too; the descendants
// of an overwritten directory are "replaced". Lower descendants count as
// deleted; n itself is counted by the caller, as a deletion or a change.
func (a *applier) remove(n *node, cause Cause, by string, same bool) {
	delete(n.parent.children, n.name)
	a.release(n, cause, by, same)
	if n.children == nil {
		return
	}
	sub := cause
	if cause == CauseOverwritten {
		sub = CauseReplaced
	}
	var walk func(*node)
	walk = func(d *node) {
		for _, c := range d.children {
			if c.layer < a.layer {
				a.stats.Deleted++
			}
			a.release(c, sub, by, false)
			if c.children != nil {
				walk(c)
			}
		}
	}
	walk(n)
}

func (a *applier) release(n *node, cause Cause, by string, same bool) {
	v := n.ver
	if v == nil {
		return
	}
	v.refs--
	if v.refs == 0 {
		a.m.pending = append(a.m.pending, pendingWaste{ver: v, cause: cause, by: by, same: same})
	}
}

func (m *Model) flushPending(layer int) {
	for _, p := range m.pending {
		if p.ver.refs > 0 {
			continue // named again by a hard link of this layer
		}
		m.waste = append(m.waste, Waste{
			Path:        p.ver.origin.path(),
			Layer:       int(p.ver.layer),
			Size:        p.ver.size,
			Hash:        p.ver.hash,
			Cause:       p.cause,
			HiddenBy:    layer,
			SameContent: p.same,
			By:          p.by,
		})
	}
	m.pending = m.pending[:0]
}

// dirAt makes sure p is a directory, creating it and its ancestors as
// implicit directories of this layer where needed, and returns it.
func (a *applier) dirAt(p string) *node {
	d := a.m.root
	if p == "" {
		return d
	}
	for name := range strings.SplitSeq(p, "/") {
		c := d.children[name]
		if c != nil && c.typ == TypeDir {
			d = c
			continue
		}
		if c != nil {
			// Never follow a symlink: a non-directory in the way is
			// replaced, as overlayfs hides a lower non-directory under an
			// upper directory.
			a.remove(c, CauseOverwritten, c.path(), false)
		}
		nd := &node{
			name: name, parent: d, children: map[string]*node{},
			typ: TypeDir, mode: 0o755, layer: a.layer, implicit: true,
		}
		d.children[name] = nd
		if c != nil && c.layer < a.layer {
			a.stats.Modified++
		} else if c == nil {
			a.stats.Added++
		}
		d = nd
	}
	return d
}

func (a *applier) entry(e *Entry) {
	switch e.Kind {
	case EntryWhiteout, EntryOpaque:
		return // applied in steps 1 and 2
	case EntryDir:
		a.dirEntry(e)
		return
	case EntryHardlink:
		a.hardlink(e)
		return
	case EntryFile, EntrySymlink, EntryCharDevice, EntryBlockDevice, EntryFIFO:
	}
	dirPath, name := splitPath(e.Path)
	parent := a.dirAt(dirPath)
	n := &node{
		name: name, parent: parent, linkname: e.Linkname, xattrs: e.Xattrs,
		mtime: e.ModTime, mode: e.Mode, uid: clampID(e.UID), gid: clampID(e.GID),
		devmajor: e.Devmajor, devminor: e.Devminor, layer: a.layer,
	}
	switch e.Kind {
	case EntryFile:
		n.typ = TypeRegular
		n.ver = &version{origin: n, size: e.Size, hash: e.Hash, layer: a.layer, refs: 1, entry: e.Index}
	case EntrySymlink:
		// Linux gives every symlink mode 0777 whatever the tar header
		// says; the view is what the container sees.
		n.typ, n.mode = TypeSymlink, 0o777
	case EntryCharDevice:
		n.typ = TypeCharDevice
	case EntryBlockDevice:
		n.typ = TypeBlockDevice
	case EntryFIFO:
		n.typ = TypeFIFO
	case EntryDir, EntryHardlink, EntryWhiteout, EntryOpaque:
		return // handled above
	}
	a.place(parent, n)
}

// place puts n at its name in parent, replacing what was there.
func (a *applier) place(parent, n *node) {
	old := parent.children[n.name]
	switch {
	case old == nil:
		a.stats.Added++
	case old.layer < a.layer:
		a.stats.Modified++
	}
	if old != nil {
		same := old.ver != nil && n.ver != nil && old.ver.size == n.ver.size && old.ver.hash == n.ver.hash
		a.remove(old, CauseOverwritten, n.path(), same)
	}
	parent.children[n.name] = n
}

func (a *applier) dirEntry(e *Entry) {
	dirPath, name := splitPath(e.Path)
	parent := a.dirAt(dirPath)
	if old := parent.children[name]; old != nil && old.typ == TypeDir {
		// Directories merge: new attributes, same children.
		if old.layer < a.layer {
			a.stats.Modified++
		}
		old.mode, old.uid, old.gid, old.mtime, old.xattrs = e.Mode, clampID(e.UID), clampID(e.GID), e.ModTime, e.Xattrs
		old.layer, old.implicit = a.layer, false
		return
	}
	a.place(parent, &node{
		name: name, parent: parent, children: map[string]*node{}, typ: TypeDir,
		mode: e.Mode, uid: clampID(e.UID), gid: clampID(e.GID), mtime: e.ModTime, xattrs: e.Xattrs,
		layer: a.layer,
	})
}

func (a *applier) hardlink(e *Entry) {
	t := a.linkTarget(e.Linkname)
	if t == nil {
		a.anomaly(AnomalyHardlinkTarget, e.Path, "hard link to "+e.Linkname+": no such file at that point")
		return
	}
	dirPath, name := splitPath(e.Path)
	parent := a.dirAt(dirPath)
	if parent.children[name] == t {
		return // a link to itself changes nothing
	}
	n := &node{
		name: name, parent: parent, ver: t.ver, linkname: t.linkname, xattrs: t.xattrs,
		mtime: t.mtime, mode: t.mode, uid: t.uid, gid: t.gid,
		devmajor: t.devmajor, devminor: t.devminor, layer: a.layer, typ: t.typ,
	}
	if t.ver != nil {
		// Take the new reference first so that replacing another name of
		// the same version does not drop it.
		t.ver.refs++
	}
	a.place(parent, n)
}

// linkTarget resolves a hard link's target by the two rules of
// docs/overlay-semantics.md.
func (a *applier) linkTarget(p string) *node {
	d := a.m.root
	parts := strings.Split(p, "/")
	for i, name := range parts {
		c := d.children[name]
		if c == nil {
			break
		}
		if i == len(parts)-1 {
			if c.layer == a.layer && !c.implicit {
				if c.typ == TypeDir {
					return nil
				}
				return c // rule 1: written by this layer
			}
			break
		}
		if c.typ != TypeDir {
			if c.layer == a.layer {
				return nil // an ancestor this layer made a non-directory
			}
			break
		}
		d = c
	}
	return a.before[p] // rule 2: as the lower layers left it
}

// lookup finds p without following symlinks; nil when p does not exist.
func (m *Model) lookup(p string) *node {
	d := m.root
	if p == "" {
		return d
	}
	for name := range strings.SplitSeq(p, "/") {
		if d.children == nil {
			return nil
		}
		d = d.children[name]
		if d == nil {
			return nil
		}
	}
	return d
}

func (n *node) path() string {
	if n.parent == nil {
		return ""
	}
	var names []string
	for c := n; c.parent != nil; c = c.parent {
		names = append(names, c.name)
	}
	slices.Reverse(names)
	return strings.Join(names, "/")
}

// depth counts the components of a path ("" is the root, depth 0).
func depth(p string) int {
	if p == "" {
		return 0
	}
	return strings.Count(p, "/") + 1
}

func splitPath(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// clampID keeps ids in the 32-bit range that Linux uses; hostile headers
// may carry negative or huge ones.
func clampID(id int) uint32 {
	if id < 0 {
		return 0
	}
	if id > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(id)
}

// Waste returns every hidden regular-file version, ordered by the layer
// that shipped it, then path, then the layer that hid it.
func (m *Model) Waste() []Waste {
	w := slices.Clone(m.waste)
	slices.SortStableFunc(w, func(x, y Waste) int {
		return cmp.Or(cmp.Compare(x.Layer, y.Layer), strings.Compare(x.Path, y.Path), cmp.Compare(x.HiddenBy, y.HiddenBy))
	})
	return w
}

// Anomalies returns what was odd in the layers, in the order met.
func (m *Model) Anomalies() []Anomaly { return slices.Clone(m.anomalies) }

// ErrStop may be returned by a Walk callback to end the walk early without
// an error.
var ErrStop = errors.New("stop walking")

// Walk calls fn for every path under prefix ("" for all) in a stable order:
// depth first, the children of a directory by byte order of their names.
// The prefix itself is included when it exists. Hard-link groups (File.Link)
// are numbered from 1 in walk order over the whole view, so they do not
// depend on the prefix.
func (m *Model) Walk(prefix string, fn func(*File) error) error {
	links := m.linkGroups()
	start := m.lookup(prefix)
	if start == nil {
		return nil
	}
	// Paths are spelled so that a deep view costs the bytes of its names,
	// not the square of its depth: chain is one string that starts with
	// n's path p and goes on down n's first children (in byte order), and
	// the path of every node on that chain is a prefix of it, sharing its
	// bytes. A node off the chain starts a chain of its own, which ends at
	// a leaf: a path some entry spelled out.
	var walk func(n *node, p, chain string) error
	walk = func(n *node, p, chain string) error {
		if n != m.root {
			f := n.file(p)
			if n.ver != nil {
				f.Link = links[n.ver]
			}
			if err := fn(&f); err != nil {
				return err
			}
		}
		for i, name := range slices.Sorted(maps.Keys(n.children)) {
			c := n.children[name]
			end := len(p) + len(name)
			if p != "" {
				end++
			}
			cchain := chain
			if i > 0 || len(chain) < end {
				cchain = firstChain(p, name, c)
			}
			if err := walk(c, cchain[:end], cchain); err != nil {
				return err
			}
		}
		return nil
	}
	err := walk(start, prefix, prefix)
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

// firstChain spells the path of c (named name, child of the node at p) and
// goes on down c's first children, in byte order, to a leaf.
func firstChain(p, name string, c *node) string {
	b := make([]byte, 0, len(p)+1+len(name))
	if p != "" {
		b = append(b, p...)
		b = append(b, '/')
	}
	b = append(b, name...)
	for len(c.children) > 0 {
		first := ""
		for k := range c.children {
			if first == "" || k < first {
				first = k
			}
		}
		b = append(b, '/')
		b = append(b, first...)
		c = c.children[first]
	}
	return string(b)
}

// Files returns the whole merged view in Walk order.
func (m *Model) Files() []File {
	var fs []File
	_ = m.Walk("", func(f *File) error { // the callback never fails
		fs = append(fs, *f)
		return nil
	})
	return fs
}

// Lookup returns the file at p, without following symlinks.
func (m *Model) Lookup(p string) (File, bool) {
	n := m.lookup(p)
	if n == nil || n == m.root {
		return File{}, false
	}
	return n.file(p), true
}

// linkGroups numbers the versions that more than one path names, in walk
// order, so that group numbers are deterministic.
func (m *Model) linkGroups() map[*version]uint64 {
	groups := map[*version]uint64{}
	var walk func(n *node)
	walk = func(n *node) {
		if n.ver != nil && n.ver.refs > 1 {
			if _, ok := groups[n.ver]; !ok {
				groups[n.ver] = uint64(len(groups) + 1)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(n.children)) {
			walk(n.children[name])
		}
	}
	walk(m.root)
	return groups
}

func (n *node) file(p string) File {
	f := File{
		Path: p, Type: n.typ, Mode: n.mode, UID: int(n.uid), GID: int(n.gid),
		Linkname: n.linkname, Devmajor: n.devmajor, Devminor: n.devminor,
		ModTime: n.mtime, Xattrs: n.xattrs, Layer: int(n.layer),
	}
	if n.ver != nil {
		f.Size, f.Hash = n.ver.size, n.ver.hash
		f.Origin = Origin{Layer: int(n.ver.layer), Entry: n.ver.entry}
	}
	return f
}

// Paths returns how many paths the view holds, the root not counted: what
// Walk would visit, without spelling out any path (a view of one deep path
// costs Walk the square of its depth, and Paths only the depth).
func (m *Model) Paths() int {
	var count func(n *node) int
	count = func(n *node) int {
		k := len(n.children)
		for _, c := range n.children {
			if c.children != nil {
				k += count(c)
			}
		}
		return k
	}
	return count(m.root)
}

// VisibleBytes returns the content bytes the merged view shows, each
// hard-linked version once. With the sizes of Waste it adds up to the
// ContentBytes of all the layers applied.
func (m *Model) VisibleBytes() (files int, bytes int64) {
	seen := map[*version]bool{}
	var walk func(n *node)
	walk = func(n *node) {
		for _, c := range n.children {
			if c.ver != nil {
				files++
				if !seen[c.ver] {
					seen[c.ver] = true
					bytes += c.ver.size
				}
			}
			if c.children != nil {
				walk(c)
			}
		}
	}
	walk(m.root)
	return files, bytes
}
