package overlay

import (
	"errors"
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
	// hashes holds the content hashes of each layer applied, which its
	// versions name by index.
	hashes []hashTable
	// extras holds the out-of-line attributes of the nodes flagged
	// hasExtra: few paths have any, and a pointer in every node would
	// cost more than this map.
	extras map[*node]*nodeExtra
}

// node is one path of the merged view. It is kept small (64 bytes): the
// model holds one per path of the image.
type node struct {
	name     string
	parent   *node
	children map[string]*node // directories only
	ver      *version         // regular files only; shared by hard links
	mtime    int64
	uid, gid uint32
	layer    int32
	mode     uint16 // 0o7777 at most
	typ      Type
	flags    nodeFlags
}

// nodeFlags are a node's flags.
type nodeFlags uint8

const (
	// implicit marks a directory that no entry of its layer described: it
	// was created to hold a child.
	implicit nodeFlags = 1 << iota
	// hasExtra: the node has attributes that most paths lack (a link
	// target, device numbers, xattrs), in Model.extras.
	hasExtra
)

// nodeExtra is the rarely set part of a node, kept out of line so that the
// common node (a file or directory with none of it) stays in a smaller size
// class. It is never modified once set, so hard links share it.
type nodeExtra struct {
	linkname           string
	xattrs             map[string]string
	devmajor, devminor uint32
}

// extra returns the out-of-line attributes of n, nil when it has none.
func (m *Model) extra(n *node) *nodeExtra {
	if n.flags&hasExtra == 0 {
		return nil
	}
	return m.extras[n]
}

// setExtra sets the out-of-line attributes of n (nil for none).
func (m *Model) setExtra(n *node, x *nodeExtra) {
	if x == nil {
		if n.flags&hasExtra != 0 {
			delete(m.extras, n)
			n.flags &^= hasExtra
		}
		return
	}
	if m.extras == nil {
		m.extras = map[*node]*nodeExtra{}
	}
	m.extras[n] = x
	n.flags |= hasExtra
}

// newExtra returns the out-of-line attributes, nil when all are zero.
func newExtra(linkname string, xattrs map[string]string, devmajor, devminor uint32) *nodeExtra {
	if linkname == "" && xattrs == nil && devmajor == 0 && devminor == 0 {
		return nil
	}
	return &nodeExtra{linkname: linkname, xattrs: xattrs, devmajor: devmajor, devminor: devminor}
}

// version is the content written by one regular-file entry. There is one
// per file of the image: its hash is kept by index in the table of its
// layer (Model.hashes), not in line.
type version struct {
	origin *node // the node the entry created; its path names the version
	size   int64
	layer  int32
	refs   int32  // names of the current view that show this version
	entry  uint32 // Entry.Index of the entry in its layer's tar
	hash   uint32 // index in the hash table of layer
}

// hash returns the content hash of v.
func (m *Model) hash(v *version) Hash { return m.hashes[v.layer].at(v.hash) }

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
	return m.apply(cs, false)
}

// Consume stacks cs on the view as Apply does, for a caller that needs cs
// no more: it empties cs as it goes, letting each chunk of entries go once
// applied, and the view keeps copies of the names it holds rather than the
// changeset's paths, so that the view and the whole changeset are never in
// memory together. cs is empty afterwards (Len 0; ContentBytes and
// Anomalies stay).
func (m *Model) Consume(cs *Changeset) LayerStats {
	return m.apply(cs, true)
}

func (m *Model) apply(cs *Changeset, consume bool) LayerStats {
	a := applier{m: m, layer: int32(m.layers), consume: consume} //nolint:gosec // layer counts are small
	a.stats.ContentBytes = cs.ContentBytes
	for _, an := range cs.Anomalies {
		an.Layer = m.layers
		m.anomalies = append(m.anomalies, an)
	}
	// The table is shared with cs, not copied: its chunks are never
	// changed once written.
	m.hashes = append(m.hashes, cs.hashes)
	a.run(cs)
	m.flushPending(int(a.layer))
	m.layers++
	return a.stats
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

// ErrStop may be returned by a Walk callback to end the walk early without
// an error.
var ErrStop = errors.New("stop walking")
