package htmlreport

import (
	"cmp"
	"container/heap"
	"slices"
	"strings"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/overlay"
)

// Default limits of the map. A browser lays out and paints a few thousand
// rectangles without effort; a million would freeze the tab, so the tree is
// aggregated here and what does not fit is folded into "other" nodes.
const (
	// DefaultMaxNodes caps the nodes the page receives.
	DefaultMaxNodes = 3000
	// maxChildren caps the children one directory shows before the rest
	// are folded, so one wide directory cannot spend the whole budget.
	maxChildren = 60
	// keepFiles is how many of a directory's largest files are kept by
	// name while the tree is built; smaller ones are only counted. It
	// bounds the memory of the aggregation by directories, not files, and
	// leaves room among the children for the folded rest.
	keepFiles = maxChildren - 1
)

// Node kinds as the page receives them.
const (
	kindDir    = "d"
	kindFile   = "f"
	kindOther  = "o" // folded siblings
	kindHidden = "h" // versions hidden from the merged view, shipped in this directory
)

// Node is one rectangle of the map, sent as one JSON object. Nodes come in
// an array, each after its parent, so the page rebuilds the tree in one pass.
type Node struct {
	// Parent is the index of the parent node; -1 for the root.
	Parent int `json:"p"`
	// Name is the last path element, made printable.
	Name string `json:"n"`
	Kind string `json:"k"`
	// Size is the bytes the merged view shows under the node; Wasted the
	// bytes of hidden versions that layers shipped there.
	Size   int64 `json:"s"`
	Wasted int64 `json:"w"`
	// Files counts the regular files the merged view shows under the node
	// (for "other", the siblings it folds).
	Files int `json:"f"`
	// Layer provides most of the node's visible bytes; -1 when none.
	Layer int `json:"l"`
	// Folded is set on a directory whose children were not sent.
	Folded bool `json:"x,omitempty"`
}

// treeBuilder aggregates files into a directory trie. It keeps, per
// directory, totals by layer and at most keepFiles files by name, so that
// its memory grows with directories rather than files.
type treeBuilder struct {
	root  *dirNode
	links map[uint64]bool
}

type dirNode struct {
	name   string
	kids   map[string]*dirNode
	files  []fileLeaf // the largest files, at most keepFiles
	rest   fileLeaf   // the other files summed, with the layer of the largest
	restN  int
	restMx int64
	size   int64 // visible bytes under the directory
	wasted int64 // hidden bytes under the directory
	direct int64 // hidden bytes shipped as files of this directory itself
	nfiles int
	layers map[int]int64
}

type fileLeaf struct {
	name  string
	size  int64
	layer int
}

func newTreeBuilder() *treeBuilder {
	return &treeBuilder{root: &dirNode{name: "/"}, links: map[uint64]bool{}}
}

func (d *dirNode) child(name string) *dirNode {
	if d.kids == nil {
		d.kids = map[string]*dirNode{}
	}
	c := d.kids[name]
	if c == nil {
		c = &dirNode{name: name}
		d.kids[name] = c
	}
	return c
}

// walk returns the directories from the root to dir, creating them.
func (b *treeBuilder) walk(dir string, fn func(*dirNode)) *dirNode {
	d := b.root
	fn(d)
	for dir != "" {
		var name string
		name, dir, _ = strings.Cut(dir, "/")
		d = d.child(name)
		fn(d)
	}
	return d
}

// addFile records a regular file of the merged view. A hard-linked inode
// counts once, as in the analyze summary.
func (b *treeBuilder) addFile(p string, size int64, layer int, link uint64) {
	if link != 0 {
		if b.links[link] {
			size = 0
		}
		b.links[link] = true
	}
	dir, name := splitPath(p)
	d := b.walk(dir, func(d *dirNode) {
		d.size += size
		d.nfiles++
		if size > 0 {
			if d.layers == nil {
				d.layers = map[int]int64{}
			}
			d.layers[layer] += size
		}
	})
	f := fileLeaf{name: name, size: size, layer: layer}
	if len(d.files) < keepFiles {
		d.files = append(d.files, f)
		return
	}
	// Keep the largest: swap out the smallest kept file when f is larger.
	small := 0
	for i := range d.files {
		if d.files[i].size < d.files[small].size {
			small = i
		}
	}
	if f.size > d.files[small].size {
		f, d.files[small] = d.files[small], f
	}
	d.rest.size += f.size
	if d.restN == 0 || f.size > d.restMx {
		// The folded files take the colour of the largest among them.
		d.rest.layer, d.restMx = f.layer, f.size
	}
	d.restN++
}

// addWaste records a hidden version shipped at p.
func (b *treeBuilder) addWaste(p string, size int64) {
	dir, _ := splitPath(p)
	d := b.walk(dir, func(d *dirNode) { d.wasted += size })
	d.direct += size
}

func splitPath(p string) (dir, name string) {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

func (d *dirNode) dominantLayer() int {
	best, bestBytes := -1, int64(0)
	for l, n := range d.layers {
		if n > bestBytes || n == bestBytes && l < best {
			best, bestBytes = l, n
		}
	}
	return best
}

// item is a child before it becomes a node: a directory or a leaf.
type item struct {
	node Node
	dir  *dirNode
}

func (d *dirNode) items() []item {
	var out []item
	for _, c := range d.kids {
		out = append(out, item{node: Node{Name: escape.Text(c.name), Kind: kindDir, Size: c.size, Wasted: c.wasted, Files: c.nfiles, Layer: c.dominantLayer()}, dir: c})
	}
	for _, f := range d.files {
		out = append(out, item{node: Node{Name: escape.Text(f.name), Kind: kindFile, Size: f.size, Files: 1, Layer: f.layer}})
	}
	if d.restN > 0 {
		out = append(out, item{node: Node{Name: "other files", Kind: kindOther, Size: d.rest.size, Files: d.restN, Layer: d.rest.layer}})
	}
	if d.direct > 0 {
		out = append(out, item{node: Node{Name: "hidden versions", Kind: kindHidden, Wasted: d.direct, Layer: -1}})
	}
	slices.SortFunc(out, func(a, b item) int {
		return cmp.Or(cmp.Compare(b.node.Size+b.node.Wasted, a.node.Size+a.node.Wasted), strings.Compare(a.node.Name, b.node.Name), strings.Compare(a.node.Kind, b.node.Kind))
	})
	return out
}

// pending is a directory already emitted whose children are not yet.
type pending struct {
	dir   *dirNode
	index int
}

type pendingHeap []pending

func (h pendingHeap) Len() int { return len(h) }
func (h pendingHeap) Less(i, j int) bool {
	a, b := h[i].dir, h[j].dir
	if x, y := a.size+a.wasted, b.size+b.wasted; x != y {
		return x > y
	}
	return h[i].index < h[j].index
}
func (h pendingHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pendingHeap) Push(x any)   { *h = append(*h, x.(pending)) } //nolint:forcetypeassert // only pending is pushed
func (h *pendingHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// emit flattens the trie into at most maxNodes nodes: the largest
// directories are opened first, each showing at most maxChildren children
// and folding the rest into one "other" node whose figures are their sums,
// so that every level still adds up to its parent.
func (b *treeBuilder) emit(maxNodes int) []Node {
	maxNodes = max(maxNodes, 1)
	r := b.root
	nodes := []Node{{Parent: -1, Name: "/", Kind: kindDir, Size: r.size, Wasted: r.wasted, Files: r.nfiles, Layer: r.dominantLayer()}}
	h := &pendingHeap{{dir: r, index: 0}}
	for h.Len() > 0 {
		p := heap.Pop(h).(pending) //nolint:forcetypeassert // only pending is pushed
		kids := p.dir.items()
		if len(kids) == 0 {
			continue
		}
		room := min(maxNodes-len(nodes), maxChildren)
		if room <= 0 {
			nodes[p.index].Folded = true
			continue
		}
		show := kids
		var folded []item
		if len(kids) > room {
			show, folded = kids[:room-1], kids[room-1:]
		}
		for _, k := range show {
			k.node.Parent = p.index
			nodes = append(nodes, k.node)
			if k.dir != nil && (len(k.dir.kids) > 0 || len(k.dir.files) > 0 || k.dir.direct > 0) {
				heap.Push(h, pending{dir: k.dir, index: len(nodes) - 1})
			}
		}
		if len(folded) > 0 {
			o := Node{Parent: p.index, Name: "other", Kind: kindOther, Layer: -1}
			var biggest int64 = -1
			for _, k := range folded {
				o.Size += k.node.Size
				o.Wasted += k.node.Wasted
				o.Files += k.node.Files
				if k.node.Size > biggest {
					biggest, o.Layer = k.node.Size, k.node.Layer
				}
			}
			o.Name = "other (" + itoa(len(folded)) + ")"
			nodes = append(nodes, o)
		}
	}
	return nodes
}

// buildTree aggregates a merged view and its waste into at most maxNodes
// nodes.
func buildTree(m *overlay.Model, waste []analyze.WasteItem, maxNodes int) []Node {
	b := newTreeBuilder()
	_ = m.Walk("", func(f *overlay.File) error { // the callback never fails
		if f.Type == overlay.TypeRegular {
			b.addFile(f.Path, f.Size, f.Layer, f.Link)
		}
		return nil
	})
	for _, w := range waste {
		b.addWaste(strings.TrimPrefix(w.Path, "/"), w.Size) // relative or absolute, by report version
	}
	return b.emit(maxNodes)
}
