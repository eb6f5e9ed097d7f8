package overlay

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

type applier struct {
	m     *Model
	layer int32
	stats LayerStats
	// before holds, for each hard-link target of this layer, the object the
	// lower layers showed at that path before this layer's opaque markers
	// and whiteouts ran.
	before map[string]*node
	// consume: the changeset goes as it is applied (Model.Consume).
	consume bool
	// gone lists the nodes with extras that left the view: their extras
	// go when the layer is applied.
	gone []*node
}

func (a *applier) run(cs *Changeset) {
	for i := range cs.n {
		e := cs.at(i)
		if e.kind == EntryHardlink {
			target := cs.linkname(e)
			if _, seen := a.before[target]; seen {
				continue
			}
			if a.before == nil {
				a.before = map[string]*node{}
			}
			n := a.m.lookup(target)
			if n != nil && n.typ == TypeDir {
				n = nil
			}
			a.before[target] = n
		}
	}
	// Steps 1 and 2: opaque markers, shallowest first, then whiteouts. They
	// run before any entry so that they can only act on lower layers,
	// whatever the tar order (image-spec layer.md). Markers go shallowest
	// first because a marker makes its directory part of this layer, which
	// a marker higher up must not remove again.
	var markers []string
	for i := range cs.n {
		if e := cs.at(i); e.kind == EntryOpaque {
			markers = append(markers, e.path)
		}
	}
	slices.SortStableFunc(markers, func(x, y string) int {
		return cmp.Compare(depth(x), depth(y))
	})
	for _, d := range markers {
		a.opaque(d)
	}
	for i := range cs.n {
		if e := cs.at(i); e.kind == EntryWhiteout {
			a.whiteout(e.path)
		}
	}
	// Step 3: entries in tar order.
	for i := range cs.n {
		a.entry(cs, cs.at(i))
		if a.consume && (i+1)&(chunkLen-1) == 0 {
			cs.chunks[i>>chunkBits] = nil
		}
	}
	if a.consume {
		cs.chunks, cs.n, cs.extras, cs.hashes = nil, 0, nil, hashTable{}
	}
	for _, n := range a.gone {
		a.m.setExtra(n, nil)
	}
}

// permBits keeps the bits of a mode that a view holds: permissions,
// setuid, setgid and sticky.
func permBits(mode uint32) uint16 { return uint16(mode & 0o7777) }

// own returns name for a node to keep: a copy when the changeset it comes
// from is being consumed, so that the view does not hold on to the whole
// path it was cut from.
func (a *applier) own(name string) string {
	if a.consume {
		return strings.Clone(name)
	}
	return name
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
	if n.flags&hasExtra != 0 {
		// Out of the view, but a hard link of this layer may still copy
		// it as the lower layers left it (a.before).
		a.gone = append(a.gone, n)
	}
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
			Hash:        m.hash(p.ver),
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
			name: a.own(name), parent: d, children: map[string]*node{},
			typ: TypeDir, mode: 0o755, layer: a.layer, flags: implicit,
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

func (a *applier) entry(cs *Changeset, e *entry) {
	switch e.kind {
	case EntryWhiteout, EntryOpaque:
		return // applied in steps 1 and 2
	case EntryDir:
		a.dirEntry(cs, e)
		return
	case EntryHardlink:
		a.hardlink(e.path, cs.linkname(e))
		return
	case EntryFile, EntrySymlink, EntryCharDevice, EntryBlockDevice, EntryFIFO:
	}
	dirPath, name := splitPath(e.path)
	parent := a.dirAt(dirPath)
	n := &node{
		name: a.own(name), parent: parent,
		mtime: e.mtime, mode: permBits(e.mode), uid: e.uid, gid: e.gid,
		layer: a.layer,
	}
	switch e.kind {
	case EntryFile:
		n.typ = TypeRegular
		n.ver = &version{origin: n, size: e.size, hash: cs.hashIndex(e), layer: a.layer, refs: 1, entry: e.index}
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
	a.m.setExtra(n, newExtra(cs.extra(e)))
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
		same := old.ver != nil && n.ver != nil && old.ver.size == n.ver.size && a.m.hash(old.ver) == a.m.hash(n.ver)
		a.remove(old, CauseOverwritten, n.path(), same)
	}
	parent.children[n.name] = n
}

func (a *applier) dirEntry(cs *Changeset, e *entry) {
	dirPath, name := splitPath(e.path)
	parent := a.dirAt(dirPath)
	_, xattrs, _, _ := cs.extra(e)
	if old := parent.children[name]; old != nil && old.typ == TypeDir {
		// Directories merge: new attributes, same children.
		if old.layer < a.layer {
			a.stats.Modified++
		}
		old.mode, old.uid, old.gid, old.mtime = permBits(e.mode), e.uid, e.gid, e.mtime
		a.m.setExtra(old, newExtra("", xattrs, 0, 0)) // a directory has only xattrs out of line
		old.layer, old.flags = a.layer, old.flags&^implicit
		return
	}
	n := &node{
		name: a.own(name), parent: parent, children: map[string]*node{}, typ: TypeDir,
		mode: permBits(e.mode), uid: e.uid, gid: e.gid, mtime: e.mtime,
		layer: a.layer,
	}
	a.m.setExtra(n, newExtra("", xattrs, 0, 0))
	a.place(parent, n)
}

func (a *applier) hardlink(p, target string) {
	t := a.linkTarget(target)
	if t == nil {
		a.anomaly(AnomalyHardlinkTarget, p, "hard link to "+target+": no such file at that point")
		return
	}
	dirPath, name := splitPath(p)
	parent := a.dirAt(dirPath)
	if parent.children[name] == t {
		return // a link to itself changes nothing
	}
	n := &node{
		name: a.own(name), parent: parent, ver: t.ver,
		mtime: t.mtime, mode: t.mode, uid: t.uid, gid: t.gid,
		layer: a.layer, typ: t.typ,
	}
	a.m.setExtra(n, a.m.extra(t))
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
			if c.layer == a.layer && c.flags&implicit == 0 {
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
