package dive

import (
	"sort"
	"strings"

	"github.com/layerlint/layerlint/overlay"
)

// nodeData is what dive keeps of a tar header that matters to its metrics.
type nodeData struct {
	// size is the tar header size: file content for regular files, 0 for
	// everything else in practice.
	size int64
	// isDir is false for a directory that only exists as the parent of
	// another entry: dive gives such nodes an empty payload, and that
	// decides how a later whiteout of the directory is sized.
	isDir bool
}

// node is one name of a dive-style tree. Names are stored raw, so a
// whiteout ".wh.x" is a different node from "x", as in dive.
type node struct {
	children map[string]*node
	data     nodeData
}

// dive refuses to create a tree component with this prefix, which is how
// it drops opaque markers without dropping their parent directories.
const doubleWhiteoutPrefix = ".wh..wh.."

// appendPath appends dir/name (name alone when dir is empty) to b.
func appendPath(b, dir []byte, name string) []byte {
	if len(dir) > 0 {
		b = append(append(b, dir...), '/')
	}
	return append(b, name...)
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// add follows dive's AddPath: missing components are created with an empty
// payload, a missing component named ".wh..wh..*" ends the walk silently,
// and the payload (when set) replaces the last component's, keeping its
// children. The path is cut one component at a time, with no slice of
// names: a layer adds one path per entry.
func (n *node) add(p string, data nodeData, set bool) {
	cur := n
	for rest, more := p, true; more; {
		var name string
		name, rest, more = strings.Cut(rest, "/")
		if name == "" {
			continue
		}
		next := cur.children[name]
		if next == nil {
			if strings.HasPrefix(name, doubleWhiteoutPrefix) {
				return
			}
			next = &node{}
			if cur.children == nil {
				cur.children = make(map[string]*node)
			}
			cur.children[name] = next
		}
		cur = next
		if set && !more {
			cur.data = data
		}
	}
}

// lookup returns the node at p, or nil; empty components are skipped as
// dive's GetNode skips them, so "" is the root.
func (n *node) lookup(p string) *node {
	cur := n
	for name := range strings.SplitSeq(p, "/") {
		if name == "" {
			continue
		}
		cur = cur.children[name]
		if cur == nil {
			return nil
		}
	}
	return cur
}

// sortedNames gives children in the order dive visits them (byte order).
func (n *node) sortedNames() []string {
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// walk visits the subtree below n children first, siblings in byte order,
// as dive's VisitDepthChildFirst does; n itself is not visited. visit gets
// the parent's path (a buffer valid only during the call: the walk reuses
// it, so that a deep tree costs the bytes of its names, not the square of
// its depth), the raw name and the node, and stops the whole walk by
// returning false: dive abandons a layer's walk at the first error. visit
// also gets the node's parent, n.
func (n *node) walk(dir []byte, visit func(dir []byte, name string, parent, c *node) bool) bool {
	for _, name := range n.sortedNames() {
		c := n.children[name]
		if len(c.children) > 0 {
			sub := dir
			if len(sub) > 0 {
				sub = append(sub, '/')
			}
			if !c.walk(append(sub, name...), visit) {
				return false
			}
		}
		if !visit(dir, name, n, c) {
			return false
		}
	}
	return true
}

// clone returns a deep copy of n and the number of nodes copied.
func (n *node) clone() (*node, int) {
	c := &node{data: n.data}
	nodes := 1
	if len(n.children) > 0 {
		c.children = make(map[string]*node, len(n.children))
		for name, ch := range n.children {
			cc, k := ch.clone()
			c.children[name] = cc
			nodes += k
		}
	}
	return c, nodes
}

// stack grafts upper onto n the way dive's FileTree.Stack does: every node
// of upper, children first, either removes its whiteout target or is added
// with its payload, so an implicit directory in upper overwrites a lower
// directory's payload with an empty one.
//
// dive resolves each node's full path from the root again; here the walk
// keeps, for each level of upper it is in, the lower node at the same path
// (a frame), so the cost is linear in the size of upper, whatever its depth.
// It returns the number of nodes of upper it visited.
func (n *node) stack(upper *node) int {
	return stackInto(&frame{n: n}, upper)
}

// frame is the lower node at the path of the upper node being stacked.
type frame struct {
	up   *frame // nil for the root
	name string
	n    *node // nil while the lower tree has nothing there
}

// get returns the lower node of f, creating it and its missing parents with
// an empty payload when create is set, as dive's AddPath does: a missing
// component named ".wh..wh..*" is never created, and nil is returned.
func (f *frame) get(create bool) *node {
	if f.up == nil || f.n != nil {
		return f.n
	}
	p := f.up.get(create)
	if p == nil {
		return nil
	}
	c := p.children[f.name]
	if c == nil {
		if !create || strings.HasPrefix(f.name, doubleWhiteoutPrefix) {
			return nil
		}
		c = &node{}
		if p.children == nil {
			p.children = make(map[string]*node)
		}
		p.children[f.name] = c
	}
	f.n = c
	return c
}

// stackInto stacks the children of upper, whose lower counterpart is f.
// Only f's own node can leave the lower tree while its children are
// stacked (a child named ".wh." removes its directory, as dive's remove of
// "dir/" does), so the frames above f stay valid. It returns the number
// of nodes of upper it visited.
func stackInto(f *frame, upper *node) int {
	visited := 0
	for _, name := range upper.sortedNames() {
		c := upper.children[name]
		cf := &frame{up: f, name: name}
		visited++
		if len(c.children) > 0 {
			visited += stackInto(cf, c)
		}
		// dive takes every ".wh." name for a whiteout of the rest of the
		// name, opaque markers and AUFS metadata included.
		kind, rest := overlay.ClassifyName(name)
		switch {
		case kind == overlay.NamePlain:
			if ln := cf.get(true); ln != nil {
				ln.data = c.data
			}
		case rest == "":
			if f.up != nil {
				if p := f.up.get(false); p != nil {
					delete(p.children, f.name)
				}
				f.n = nil
			}
		default:
			if ln := f.get(false); ln != nil {
				delete(ln.children, rest)
			}
		}
	}
	return visited
}

// layerTree builds the tree dive builds from one layer tar, and the
// layer's size as dive sums it (every header's size).
func layerTree(cs *overlay.Changeset) (*node, int64) {
	root := &node{}
	var size int64
	for _, e := range cs.All() {
		size += e.Size
		switch e.Kind {
		case overlay.EntryWhiteout:
			dir, base := "", e.Path
			if j := strings.LastIndexByte(e.Path, '/'); j >= 0 {
				dir, base = e.Path[:j], e.Path[j+1:]
			}
			// A whiteout header is an empty regular file.
			root.add(joinPath(dir, overlay.WhiteoutPrefix+base), nodeData{}, true)
		case overlay.EntryOpaque:
			// dive creates the marker's parents but never the marker.
			root.add(e.Path, nodeData{}, false)
		case overlay.EntryDir:
			root.add(e.Path, nodeData{size: e.Size, isDir: true}, true)
		case overlay.EntryFile, overlay.EntrySymlink, overlay.EntryHardlink,
			overlay.EntryCharDevice, overlay.EntryBlockDevice, overlay.EntryFIFO:
			root.add(e.Path, nodeData{size: e.Size}, true)
		}
	}
	// AUFS metadata entries (.wh..wh.aufs, .wh..wh.plnk) are not entries of
	// the changeset, but dive keeps them as whiteout-named nodes, and a
	// whiteout whose target is missing stops dive's walk of the layer. Their
	// headers are empty files or directories, so size 0 is what dive sees.
	for _, a := range cs.Anomalies {
		if a.Kind == overlay.AnomalyAUFSMetadata {
			root.add(a.Path, nodeData{}, true)
		}
	}
	return root, size
}
