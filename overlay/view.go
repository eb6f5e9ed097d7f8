package overlay

import (
	"cmp"
	"errors"
	"maps"
	"slices"
	"strings"
)

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
			f := m.file(n, p)
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
	return m.file(n, p), true
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

func (m *Model) file(n *node, p string) File {
	f := File{
		Path: p, Type: n.typ, Mode: uint32(n.mode), UID: int(n.uid), GID: int(n.gid),
		ModTime: n.mtime, Layer: int(n.layer),
	}
	if x := m.extra(n); x != nil {
		f.Linkname, f.Xattrs, f.Devmajor, f.Devminor = x.linkname, x.xattrs, x.devmajor, x.devminor
	}
	if n.ver != nil {
		f.Size, f.Hash = n.ver.size, m.hash(n.ver)
		f.Origin = Origin{Layer: int(n.ver.layer), Entry: int(n.ver.entry)}
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
	// Only a version that several paths show can be met twice: the others
	// need no memory of having been counted (a set of every version of a
	// large view would be the largest thing allocated after it is built).
	seen := map[*version]bool{}
	var walk func(n *node)
	walk = func(n *node) {
		for _, c := range n.children {
			if v := c.ver; v != nil {
				files++
				if v.refs == 1 {
					bytes += v.size
				} else if !seen[v] {
					seen[v] = true
					bytes += v.size
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
