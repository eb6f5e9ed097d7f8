package squash

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/layerlint/layerlint/overlay"
)

// outEntry is one entry of a layer being written.
type outEntry struct {
	Kind overlay.EntryKind
	Path string
	// File holds the attributes, from the upper view; zero for whiteouts
	// and opaque markers.
	File overlay.File
	// Origin names the entry whose bytes a regular file copies.
	Origin overlay.Origin
	// Link is the target of a hard link.
	Link string
}

// layerSpec is a merged layer, ready to stream. Its tar holds three
// sections: meta (directories, opaque markers, whiteouts, symlinks,
// devices, FIFOs) in tree order with each directory's marker and whiteouts
// before its other children (image-spec layer.md); regular files in the
// order of the source entries that hold their bytes, so that each source
// layer is read once, front to back, and no content is held in memory or
// spooled; then hard links, whose targets are all written by then.
type layerSpec struct {
	// early holds hard links to a version that the lower view still
	// names at a path this layer replaces or removes: written first, they
	// resolve against the lower layers (docs/overlay-semantics.md, hard
	// link rule 2), so the bytes are not shipped again.
	early              []outEntry
	meta, files, links []outEntry
	// sources are the source layers that hold bytes of files, ascending.
	sources []int
	// stripped lists the paths of the upper view dropped by Strip (each
	// top-most one only).
	stripped []string
}

// view indexes a merged view (Model.Files order: depth first, names
// sorted) by path and by parent.
type view struct {
	files []overlay.File
	idx   map[string]int
	kids  map[string][]string
}

func newView(files []overlay.File) *view {
	v := &view{files: files, idx: make(map[string]int, len(files)), kids: map[string][]string{}}
	for i, f := range files {
		v.idx[f.Path] = i
		dir, name := splitPath(f.Path)
		v.kids[dir] = append(v.kids[dir], name)
	}
	return v
}

func (v *view) get(p string) *overlay.File {
	if i, ok := v.idx[p]; ok {
		return &v.files[i]
	}
	return nil
}

// subtree calls fn for p and every path under it.
func (v *view) subtree(p string, fn func(f *overlay.File)) {
	i, ok := v.idx[p]
	if !ok {
		return
	}
	fn(&v.files[i])
	prefix := p + "/"
	for j := i + 1; j < len(v.files) && strings.HasPrefix(v.files[j].Path, prefix); j++ {
		fn(&v.files[j])
	}
}

// planLayer computes the merged layer that turns the lower view into the
// upper one. from is the number of layers below the range: upper paths
// with File.Layer >= from are the range's. Both views come from origin
// models. strip drops paths (and their subtrees) from the upper view.
func planLayer(lowerFiles, upperFiles []overlay.File, from int, strip func(string) bool) (*layerSpec, error) {
	spec := &layerSpec{}
	if strip != nil {
		kept := upperFiles[:0:0]
		var cut string
		for _, f := range upperFiles {
			if cut != "" && strings.HasPrefix(f.Path, cut+"/") {
				continue
			}
			if strip(f.Path) {
				cut = f.Path
				spec.stripped = append(spec.stripped, f.Path)
				continue
			}
			kept = append(kept, f)
		}
		upperFiles = kept
	}
	e := &emitter{
		lower: newView(lowerFiles), upper: newView(upperFiles), from: from,
		emit: map[string]bool{}, whiteouts: map[string]bool{}, opaque: map[string]bool{},
		notFull: map[string]bool{}, need: map[string]int{},
	}
	for _, f := range upperFiles {
		if f.Layer < from {
			for a := parentOf(f.Path); a != ""; a = parentOf(a) {
				if e.notFull[a] {
					break
				}
				e.notFull[a] = true
			}
		}
	}
	e.visit("")
	if err := e.addParents(); err != nil {
		return nil, err
	}
	if err := e.sections(spec); err != nil {
		return nil, err
	}
	return spec, nil
}

type emitter struct {
	lower, upper *view
	from         int
	emit         map[string]bool // upper paths that get an entry
	whiteouts    map[string]bool
	opaque       map[string]bool
	// notFull marks upper directories with a descendant from below the
	// range: an opaque marker there would hide it.
	notFull map[string]bool
	need    map[string]int
	// lowerNames lists the lower view's paths of each version.
	lowerNames map[overlay.Origin][]string
}

func (e *emitter) children(d string) []string {
	names := slices.Concat(e.lower.kids[d], e.upper.kids[d])
	slices.Sort(names)
	return slices.Compact(names)
}

// whiteoutsNeeded counts the whiteouts that the directory d, present in
// both views, needs when no opaque marker is used below it.
func (e *emitter) whiteoutsNeeded(d string) int {
	if n, ok := e.need[d]; ok {
		return n
	}
	n := 0
	for _, name := range e.children(d) {
		p := join(d, name)
		l, u := e.lower.get(p), e.upper.get(p)
		switch {
		case u == nil:
			n++
		case l == nil:
		case l.Type == overlay.TypeDir && u.Type == overlay.TypeDir:
			n += e.whiteoutsNeeded(p)
		}
	}
	e.need[d] = n
	return n
}

// oneChildNeeds reports whether every whiteout d needs is inside one
// child directory: the marker then goes there, as deep as it can, where it
// says exactly what the range did.
func (e *emitter) oneChildNeeds(d string) bool {
	total := e.whiteoutsNeeded(d)
	for _, name := range e.children(d) {
		p := join(d, name)
		l, u := e.lower.get(p), e.upper.get(p)
		if l != nil && u != nil && l.Type == overlay.TypeDir && u.Type == overlay.TypeDir {
			if n := e.whiteoutsNeeded(p); n > 0 {
				return n == total
			}
		}
	}
	return false
}

// visit handles the children of d, a directory in both views.
func (e *emitter) visit(d string) {
	// An opaque marker replaces two or more whiteouts when everything the
	// upper view shows under d comes from the range anyway (so the marker
	// hides nothing that must stay). Never at the root: runtimes differ
	// on a marker there.
	if d != "" && !e.notFull[d] && e.whiteoutsNeeded(d) >= 2 && !e.oneChildNeeds(d) {
		e.opaque[d] = true
		for _, name := range e.upper.kids[d] {
			e.upper.subtree(join(d, name), e.mark)
		}
		return
	}
	for _, name := range e.children(d) {
		p := join(d, name)
		l, u := e.lower.get(p), e.upper.get(p)
		switch {
		case u == nil:
			e.whiteouts[p] = true // top-most removed path: its subtree goes with it
		case l == nil:
			e.upper.subtree(p, e.mark)
		case u.Layer >= e.from:
			switch {
			case u.Type == overlay.TypeDir && l.Type == overlay.TypeDir:
				e.emit[p] = true // directories merge: new attributes, lower children stay
				e.visit(p)
			case u.Type == overlay.TypeDir:
				e.upper.subtree(p, e.mark) // replaces a non-directory: nothing below shows
			default:
				e.emit[p] = true // a non-directory replaces whatever was there
			}
		case u.Type == overlay.TypeDir:
			// Unchanged by the range (the same object as below), but
			// something inside may have changed.
			e.visit(p)
		}
	}
}

func (e *emitter) mark(f *overlay.File) { e.emit[f.Path] = true }

// addParents gives every entry its parent directories, with the upper
// view's attributes, so that no runtime makes an implicit parent with
// default attributes.
func (e *emitter) addParents() error {
	var need []string
	for p := range e.emit {
		need = append(need, parentOf(p))
	}
	for p := range e.whiteouts {
		need = append(need, parentOf(p))
	}
	for p := range e.opaque {
		need = append(need, p)
	}
	for _, p := range need {
		for ; p != "" && !e.emit[p]; p = parentOf(p) {
			u := e.upper.get(p)
			if u == nil || u.Type != overlay.TypeDir {
				return fmt.Errorf("internal: parent %s of an entry is not a directory of the upper view", p)
			}
			e.emit[p] = true
		}
	}
	return nil
}

// sections orders the entries.
func (e *emitter) sections(spec *layerSpec) error {
	byVersion := map[overlay.Origin][]string{} // upper paths of each version, walk order
	for _, f := range e.upper.files {
		if f.Type == overlay.TypeRegular {
			byVersion[f.Origin] = append(byVersion[f.Origin], f.Path)
		}
	}
	e.lowerNames = map[overlay.Origin][]string{}
	for _, f := range e.lower.files {
		if f.Type == overlay.TypeRegular {
			e.lowerNames[f.Origin] = append(e.lowerNames[f.Origin], f.Path)
		}
	}
	wh := map[string][]string{}
	for p := range e.whiteouts {
		dir, name := splitPath(p)
		wh[dir] = append(wh[dir], name)
	}
	var walk func(d string) error
	walk = func(d string) error {
		if d != "" {
			spec.meta = append(spec.meta, outEntry{Kind: overlay.EntryDir, Path: d, File: *e.upper.get(d)})
		}
		if e.opaque[d] {
			spec.meta = append(spec.meta, outEntry{Kind: overlay.EntryOpaque, Path: d})
		}
		names := wh[d]
		slices.Sort(names)
		for _, name := range names {
			spec.meta = append(spec.meta, outEntry{Kind: overlay.EntryWhiteout, Path: join(d, name)})
		}
		for _, name := range e.upper.kids[d] {
			p := join(d, name)
			if !e.emit[p] {
				continue
			}
			u := e.upper.get(p)
			switch u.Type {
			case overlay.TypeDir:
				if err := walk(p); err != nil {
					return err
				}
			case overlay.TypeRegular:
				e.regular(spec, u, byVersion[u.Origin])
			case overlay.TypeSymlink:
				spec.meta = append(spec.meta, outEntry{Kind: overlay.EntrySymlink, Path: p, File: *u})
			case overlay.TypeCharDevice:
				spec.meta = append(spec.meta, outEntry{Kind: overlay.EntryCharDevice, Path: p, File: *u})
			case overlay.TypeBlockDevice:
				spec.meta = append(spec.meta, outEntry{Kind: overlay.EntryBlockDevice, Path: p, File: *u})
			case overlay.TypeFIFO:
				spec.meta = append(spec.meta, outEntry{Kind: overlay.EntryFIFO, Path: p, File: *u})
			default:
				return fmt.Errorf("%s: unknown file type %s", p, u.Type)
			}
		}
		return nil
	}
	if err := walk(""); err != nil {
		return err
	}
	slices.SortFunc(spec.files, func(x, y outEntry) int { return x.Origin.Compare(y.Origin) })
	src := map[int]bool{}
	for _, f := range spec.files {
		src[f.Origin.Layer] = true
	}
	spec.sources = slices.Sorted(maps.Keys(src))
	return nil
}

// regular places a regular file: as the carrier of its version's bytes,
// or as a hard link to another name of the version. A name from below the
// range (unchanged, so the same inode as below) is preferred as the link
// target: the layer then ships no bytes for the version at all.
func (e *emitter) regular(spec *layerSpec, u *overlay.File, names []string) {
	for _, n := range names {
		if f := e.upper.get(n); f.Layer < e.from {
			spec.links = append(spec.links, outEntry{Kind: overlay.EntryHardlink, Path: u.Path, File: *u, Link: n})
			return
		}
	}
	for _, t := range e.lowerNames[u.Origin] {
		if e.earlyTarget(t) {
			spec.early = append(spec.early, outEntry{Kind: overlay.EntryHardlink, Path: u.Path, File: *u, Link: t})
			return
		}
	}
	if len(names) > 0 && names[0] != u.Path {
		spec.links = append(spec.links, outEntry{Kind: overlay.EntryHardlink, Path: u.Path, File: *u, Link: names[0]})
		return
	}
	spec.files = append(spec.files, outEntry{Kind: overlay.EntryFile, Path: u.Path, File: *u, Origin: u.Origin})
}

// earlyTarget reports whether a link written first in the layer resolves
// to the lower object at t: no ancestor of t may become a non-directory in
// this layer (an early link there would leave t missing).
func (e *emitter) earlyTarget(t string) bool {
	for a := parentOf(t); a != ""; a = parentOf(a) {
		if u := e.upper.get(a); e.emit[a] && u != nil && u.Type != overlay.TypeDir {
			return false
		}
	}
	return true
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func splitPath(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}
